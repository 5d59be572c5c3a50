"""Indexes on the timestamps retention prunes by: outbox.created_at, processed_events.handled_at and
deliveries.finished_at.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations import create_retention_indexes, drop_retention_indexes

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_retention_indexes()
    op.create_index("ix_deliveries_finished_at", "deliveries", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_finished_at", table_name="deliveries")
    drop_retention_indexes()
