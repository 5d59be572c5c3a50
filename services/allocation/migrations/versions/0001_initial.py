"""Demands, outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.migrations import create_messaging_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "demands",
        sa.Column("request_id", sa.Uuid(), primary_key=True),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("region", sa.String(8), nullable=False, index=True),
        sa.Column("settlement", sa.String(200), nullable=False),
        sa.Column("facility_name", sa.String(200), nullable=False),
        sa.Column("facility_kind", sa.String(32), nullable=False),
        sa.Column("category", sa.String(40), nullable=False, index=True),
        sa.Column("specs", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("demands")
    op.drop_table("inbox")
    op.drop_table("outbox")
