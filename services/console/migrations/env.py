"""Alembic environment of the console (the shared env runs it over an async engine)."""

from sqlmodel import SQLModel

from services.console import models  # noqa: F401  (registers the console's tables)
from shared.migrations import run_env

run_env(SQLModel.metadata)
