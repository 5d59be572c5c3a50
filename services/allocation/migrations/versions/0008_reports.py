"""The reports' projection: requests, allocations and lots as the ``allocation-reports`` group sees them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(18, 4)


def _at(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "report_requests",
        sa.Column("request_id", sa.Uuid(), primary_key=True),
        sa.Column("ref", sa.String(32), nullable=True),
        sa.Column("region", sa.String(8), nullable=True, index=True),
        sa.Column("category", sa.String(40), nullable=True, index=True),
        sa.Column("settlement", sa.String(200), nullable=True),
        sa.Column("facility_name", sa.String(200), nullable=True),
        sa.Column("facility_kind", sa.String(32), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True, index=True),
        sa.Column("priority", sa.String(10), nullable=True),
        _at("priority_at"),
        sa.Column("status", sa.String(24), nullable=True),
        _at("status_at"),
        _at("waitlisted_at"),
        sa.Column("ended_as", sa.String(10), nullable=True),
        _at("ended_at"),
    )
    op.create_table(
        "report_allocations",
        sa.Column("allocation_id", sa.Uuid(), primary_key=True),
        sa.Column("request_id", sa.Uuid(), nullable=True, index=True),
        sa.Column("lot_id", sa.Uuid(), nullable=True, index=True),
        sa.Column("donor_id", sa.String(64), nullable=True, index=True),
        sa.Column("region", sa.String(8), nullable=True),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("settlement", sa.String(200), nullable=True),
        sa.Column("facility_name", sa.String(200), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        *(
            _at(name)
            for name in (
                "proposed_at",
                "expires_at",
                "approved_at",
                "rejected_at",
                "expired_at",
                "released_at",
                "dispatched_at",
                "delivered_at",
            )
        ),
        sa.Column("received_quantity", sa.Integer(), nullable=True),
        sa.Column("rejected_quantity", sa.Integer(), nullable=True),
    )
    op.create_table(
        "report_lots",
        sa.Column("lot_id", sa.Uuid(), primary_key=True),
        sa.Column("donor_id", sa.String(64), nullable=True, index=True),
        sa.Column("programme_id", sa.String(64), nullable=True),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("region", sa.String(8), nullable=True),
        sa.Column("site", sa.String(200), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        _at("quantity_at"),
        sa.Column("unit_value", MONEY, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        _at("registered_at"),
        _at("withdrawn_at"),
        _at("changed_at"),
    )


def downgrade() -> None:
    op.drop_table("report_lots")
    op.drop_table("report_allocations")
    op.drop_table("report_requests")
