"""Lots, allocations, idempotency keys; stage counters and over-allocation checks on demands.

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

DEMAND_COUNTERS = ("proposed", "approved", "dispatched", "delivered", "waitlisted_reported")


def upgrade() -> None:
    with op.batch_alter_table("demands") as batch:
        for name in DEMAND_COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.create_check_constraint(
            "ck_demands_counters_non_negative",
            "proposed >= 0 AND approved >= 0 AND dispatched >= 0 AND delivered >= 0",
        )
        batch.create_check_constraint(
            "ck_demands_never_over_allocated", "proposed + approved + dispatched + delivered <= quantity"
        )
    op.create_table(
        "lots",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("donor_id", sa.String(200), nullable=False, index=True),
        sa.Column("category", sa.String(40), nullable=False, index=True),
        sa.Column("specs", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("proposed", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("dispatched", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("rejected_on_delivery", sa.Integer(), nullable=False),
        sa.Column("location_region", sa.String(8), nullable=False, index=True),
        sa.Column("location_site", sa.String(200), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=False),
        sa.Column("eligible_regions", sa.JSON(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "quantity >= 0 AND proposed >= 0 AND approved >= 0 AND dispatched >= 0 AND delivered >= 0"
            " AND rejected_on_delivery >= 0",
            name="ck_lots_counters_non_negative",
        ),
        sa.CheckConstraint(
            "proposed + approved + dispatched + delivered + rejected_on_delivery <= quantity",
            name="ck_lots_never_over_allocated",
        ),
    )
    op.create_index("ix_lots_listing", "lots", ["created_at", "id"])
    op.create_table(
        "allocations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("request_id", sa.Uuid(), sa.ForeignKey("demands.request_id"), nullable=False, index=True),
        sa.Column("lot_id", sa.Uuid(), sa.ForeignKey("lots.id"), nullable=False, index=True),
        sa.Column("donor_id", sa.String(200), nullable=False, index=True),
        sa.Column("region", sa.String(8), nullable=False, index=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("rejected_at", UTCDateTime(), nullable=True),
        sa.Column("rejected_by", sa.String(200), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("expired_at", UTCDateTime(), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("dispatched_at", UTCDateTime(), nullable=True),
        sa.Column("dispatched_by", sa.String(200), nullable=True),
        sa.Column("waybill", sa.String(100), nullable=True),
        sa.Column("carrier", sa.String(200), nullable=True),
        sa.Column("eta", sa.Date(), nullable=True),
        sa.Column("serials", sa.JSON(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_by", sa.String(200), nullable=True),
        sa.Column("received_quantity", sa.Integer(), nullable=True),
        sa.Column("rejected_quantity", sa.Integer(), nullable=True),
        sa.Column("delivery_note", sa.Text(), nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_allocations_quantity_positive"),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected', 'expired', 'released', 'dispatched', 'delivered')",
            name="ck_allocations_status",
        ),
        sa.CheckConstraint(
            "received_quantity IS NULL OR received_quantity + rejected_quantity = quantity",
            name="ck_allocations_receipt_adds_up",
        ),
    )
    op.create_index("ix_allocations_listing", "allocations", ["created_at", "id"])
    op.create_index("ix_allocations_status_expiry", "allocations", ["status", "expires_at"])
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
    op.drop_table("allocations")
    op.drop_table("lots")
    with op.batch_alter_table("demands") as batch:
        batch.drop_constraint("ck_demands_never_over_allocated", type_="check")
        batch.drop_constraint("ck_demands_counters_non_negative", type_="check")
        batch.drop_column("closed_at")
        for name in reversed(DEMAND_COUNTERS):
            batch.drop_column(name)
