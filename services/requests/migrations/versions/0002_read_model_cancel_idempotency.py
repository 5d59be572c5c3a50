"""Allocation read model, cancellation details, waitlist snapshot and idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # OpenID Connect allows a subject of up to 255 characters.
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("created_by", type_=sa.String(255), existing_type=sa.String(200), existing_nullable=False)
    op.add_column("requests", sa.Column("waitlisted_reported", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("requests", sa.Column("waitlisted_reported_at", UTCDateTime(), nullable=True))
    op.add_column("requests", sa.Column("cancelled_by", sa.String(255), nullable=True))
    op.add_column("requests", sa.Column("cancel_reason", sa.Text(), nullable=True))
    op.create_table(
        "request_allocations",
        sa.Column("allocation_id", sa.Uuid(), primary_key=True),
        sa.Column("request_id", sa.Uuid(), sa.ForeignKey("requests.id"), nullable=False, index=True),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("donor_id", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("stage_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("request_allocations")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_by")
        batch.drop_column("waitlisted_reported_at")
        batch.drop_column("waitlisted_reported")
        batch.alter_column("created_by", type_=sa.String(200), existing_type=sa.String(255), existing_nullable=False)
