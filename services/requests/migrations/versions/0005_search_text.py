"""Requests carry ``search_text`` (ref, settlement and facility name, case-folded) for ``GET ?q=``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

requests = sa.table(
    "requests",
    sa.column("id", sa.Uuid()),
    sa.column("ref", sa.String()),
    sa.column("settlement", sa.String()),
    sa.column("facility_name", sa.String()),
    sa.column("search_text", sa.Text()),
)


def upgrade() -> None:
    op.add_column("requests", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(requests.c.id, requests.c.ref, requests.c.settlement, requests.c.facility_name)
    ).all()
    for row in rows:
        # Folded in Python as the service folds new rows: the databases' lower() differ on Cyrillic.
        text = "\n".join(value.casefold() for value in (row.ref, row.settlement, row.facility_name))
        connection.execute(requests.update().where(requests.c.id == row.id).values(search_text=text))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("search_text")
