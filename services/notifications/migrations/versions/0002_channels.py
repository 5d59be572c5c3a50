"""Inbox positions and both languages, per-reader read marks, subscriptions, deliveries and attempts.

The inbox's shared ``read_at`` column gives way to ``notification_reads`` (one mark per reader; a
coordinator reading an item does not mark it read for the others). The walking skeleton that used it
was never released, so it is dropped here rather than kept for a rolling upgrade.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _extend_notifications()
    op.create_table(
        "inbox_sequences",
        sa.Column("audience", sa.String(120), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
    )
    op.execute(
        "INSERT INTO inbox_sequences (audience, last_seq) "
        "SELECT audience, MAX(seq) FROM notifications GROUP BY audience"
    )
    op.create_table(
        "notification_reads",
        sa.Column("notification_id", sa.Uuid(), sa.ForeignKey("notifications.id"), primary_key=True),
        sa.Column("reader", sa.String(200), primary_key=True),
        sa.Column("read_at", UTCDateTime(), nullable=False),
    )
    _create_subscriptions()
    _create_deliveries()


def _extend_notifications() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("template", sa.String(80), nullable=True))
        batch.add_column(sa.Column("title_uk", sa.String(300), nullable=True))
        batch.add_column(sa.Column("body_uk", sa.Text(), nullable=True))
        batch.drop_column("read_at")
    # Existing items (only waitlisted notices were ever written) get positions in creation order.
    op.execute(
        "UPDATE notifications SET "
        "seq = (SELECT COUNT(*) FROM notifications AS earlier "
        "       WHERE earlier.audience = notifications.audience "
        "       AND (earlier.created_at < notifications.created_at "
        "            OR (earlier.created_at = notifications.created_at AND earlier.id <= notifications.id))), "
        "template = 'request_waitlisted', title_uk = title, body_uk = body"
    )
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("template", existing_type=sa.String(80), nullable=False)
        batch.alter_column("title_uk", existing_type=sa.String(300), nullable=False)
        batch.alter_column("body_uk", existing_type=sa.Text(), nullable=False)
        batch.create_unique_constraint("uq_notification_audience_seq", ["audience", "seq"])


def _create_subscriptions() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("audience", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("secret", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "uq_subscription_owner_target",
        "subscriptions",
        ["owner", "channel", "target"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
        sqlite_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_subscriptions_audience", "subscriptions", ["audience"])


def _create_deliveries() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column("source_event_type", sa.String(120), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.Column("recipient", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), sa.ForeignKey("subscriptions.id"), nullable=True),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("leased_until", UTCDateTime(), nullable=True),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("source_event_id", "recipient", "channel", name="uq_delivery_event_recipient"),
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_deliveries_listing", "deliveries", ["created_at", "id"])
    op.create_index("ix_deliveries_subject", "deliveries", ["subject_id"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.Uuid(), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.UniqueConstraint("delivery_id", "number", name="uq_attempt_number"),
    )


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    op.drop_table("subscriptions")
    op.drop_table("notification_reads")
    op.drop_table("inbox_sequences")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notification_audience_seq", type_="unique")
        batch.drop_column("body_uk")
        batch.drop_column("title_uk")
        batch.drop_column("template")
        batch.drop_column("seq")
        batch.add_column(sa.Column("read_at", UTCDateTime(), nullable=True))
