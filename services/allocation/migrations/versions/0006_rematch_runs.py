"""Sliced re-matches in progress: each category's cursor, and the new requests deferred until its end.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rematch_runs",
        sa.Column("category", sa.String(40), primary_key=True),
        sa.Column("after_rank", sa.Integer(), nullable=True),
        sa.Column("after_front_line", sa.Integer(), nullable=True),
        sa.Column("after_needed_by", sa.Date(), nullable=True),
        sa.Column("after_submitted_at", UTCDateTime(), nullable=True),
        sa.Column("after_request_id", sa.Uuid(), nullable=True),
        sa.Column("ranked", sa.Integer(), nullable=False),
        sa.Column("backlog_done", sa.Boolean(), nullable=False),
        sa.Column("cause", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "rematch_deferred",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("category", sa.String(40), nullable=False, index=True),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("cause", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rematch_deferred")
    op.drop_table("rematch_runs")
