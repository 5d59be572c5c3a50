"""Demands keep the first two keys of the order of service, indexed: a re-match slice is an index range.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER = ("category", "open", "priority_rank", "front_line_rank", "needed_by", "submitted_at", "request_id")


def upgrade() -> None:
    from services.allocation.backlog import rank_sql  # the same CASE the service refreshes ranks with

    with op.batch_alter_table("demands") as batch:
        batch.add_column(sa.Column("priority_rank", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("front_line_rank", sa.Integer(), nullable=False, server_default="1"))
    demands = sa.table(
        "demands", *(sa.column(name) for name in ("priority", "region", "priority_rank", "front_line_rank"))
    )
    priority, front_line = rank_sql(demands.c.priority, demands.c.region)
    op.execute(sa.update(demands).values(priority_rank=priority, front_line_rank=front_line))
    op.create_index("ix_demands_service_order", "demands", list(ORDER))


def downgrade() -> None:
    op.drop_index("ix_demands_service_order", table_name="demands")
    with op.batch_alter_table("demands") as batch:
        batch.drop_column("front_line_rank")
        batch.drop_column("priority_rank")
