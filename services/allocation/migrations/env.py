"""Alembic environment of the allocation service (the shared env runs it over an async engine)."""

from sqlmodel import SQLModel

from services.allocation import models  # noqa: F401  (registers the service's tables)
from shared.migrations import run_env

run_env(SQLModel.metadata)
