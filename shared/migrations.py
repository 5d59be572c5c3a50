"""Alembic per service: an env shared by every service's migrations and a programmatic upgrade."""

from __future__ import annotations

import asyncio
from importlib import resources

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import UTCDateTime


def alembic_config(service: str, database_url: str) -> Config:
    """Alembic configuration for ``services/<service>/migrations`` against this database."""
    script_location = resources.files(f"services.{service}") / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("version_table", "alembic_version")
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    """Apply migrations (synchronous; call from a thread when an event loop is running)."""
    from shared.db import Database  # creates the SQLite directory as a side effect of the engine setup

    Database(database_url)
    command.upgrade(alembic_config(service, database_url), revision)


def run_env(target_metadata: sa.MetaData | None = None) -> None:
    """Body of every service's ``env.py``: run migrations online over an async engine."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None, "sqlalchemy.url must be set by alembic_config()"

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


def create_messaging_tables() -> None:
    """Create the outbox and the inbox (since renamed ``processed_events``) every first migration made."""
    op.create_table(
        "outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("stream", sa.String(60), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(120), primary_key=True),
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
    )


def create_dead_letters_table() -> None:
    """Create the dead-letter store every service has (SPEC §15; used by one migration of each)."""
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("consumer", sa.String(120), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("event_type", sa.String(120), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_dead_letters_listing", "dead_letters", ["created_at", "id"])


def rename_inbox_to_processed_events() -> None:
    """Rename the consumer's dedupe table ``inbox`` to ``processed_events``, rows and all."""
    op.rename_table("inbox", "processed_events")
    if op.get_context().dialect.name == "postgresql":  # SQLite's primary key carries no name
        op.execute("ALTER TABLE processed_events RENAME CONSTRAINT inbox_pkey TO processed_events_pkey")


def rename_processed_events_to_inbox() -> None:
    """Undo ``rename_inbox_to_processed_events``."""
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE processed_events RENAME CONSTRAINT processed_events_pkey TO inbox_pkey")
    op.rename_table("processed_events", "inbox")


def create_retention_indexes() -> None:
    """Index the timestamps retention prunes the outbox and processed events by (``shared.retention``)."""
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_index("ix_processed_events_handled_at", "processed_events", ["handled_at"])


def drop_retention_indexes() -> None:
    """Undo ``create_retention_indexes``."""
    op.drop_index("ix_processed_events_handled_at", table_name="processed_events")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
