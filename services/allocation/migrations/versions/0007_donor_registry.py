"""The donor registry: donors and their programmes; a lot may name a programme and a unit value.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(18, 4)


def upgrade() -> None:
    op.create_table(
        "donors",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("name_uk", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("contact_emails", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('government', 'agency', 'company', 'ngo')", name="ck_donors_kind"),
    )
    op.create_table(
        "programmes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("donor_id", sa.String(64), sa.ForeignKey("donors.id"), nullable=False, index=True),
        sa.Column("name_en", sa.String(300), nullable=False),
        sa.Column("name_uk", sa.String(300), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("budget_amount", MONEY, nullable=False),
        sa.Column("budget_currency", sa.String(3), nullable=False),
        sa.Column("implementing_partner", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_programmes_period"),
    )
    with op.batch_alter_table("lots") as batch:
        batch.add_column(sa.Column("programme_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("unit_value", MONEY, nullable=True))
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))
        batch.create_index("ix_lots_programme_id", ["programme_id"])


def downgrade() -> None:
    with op.batch_alter_table("lots") as batch:
        batch.drop_index("ix_lots_programme_id")
        batch.drop_column("currency")
        batch.drop_column("unit_value")
        batch.drop_column("programme_id")
    op.drop_table("programmes")
    op.drop_table("donors")
