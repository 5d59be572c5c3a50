"""The consumer's dedupe table is renamed from inbox to processed_events; its rows are kept.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from shared.migrations import rename_inbox_to_processed_events, rename_processed_events_to_inbox

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    rename_inbox_to_processed_events()


def downgrade() -> None:
    rename_processed_events_to_inbox()
