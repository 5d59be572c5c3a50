"""Alembic environment of the requests service (the shared env runs it over an async engine)."""

from sqlmodel import SQLModel

from services.requests import models  # noqa: F401  (registers the service's tables)
from shared.migrations import run_env

run_env(SQLModel.metadata)
