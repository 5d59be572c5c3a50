"""The raw HTTP limit: a minimal FastAPI app under uvicorn with the services' server settings.

    python -m bench.minimal_app --port 9000 [--database-url sqlite+aiosqlite:///…]

`POST /echo` validates a request-shaped pydantic body and answers 201 (HTTP alone);
`POST /write` does the same and commits one row plus one outbox row (HTTP + database: the
ceiling of any write endpoint). No auth, no logic, no relay.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any
from uuid import uuid4

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

from bench.writes import create_tables, write_request
from shared.db import Database


class FacilityIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str


class ContactIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = None
    email: str | None = None


class RequestIn(BaseModel):
    """The shape of ``POST /v1/requests`` without the service's own validators."""

    region: str = Field(min_length=4, max_length=8)
    settlement: str = Field(min_length=1, max_length=200)
    facility: FacilityIn
    category: str
    specs: dict[str, Any]
    quantity: int = Field(ge=1, le=1000)
    priority: str = "medium"
    needed_by: date
    justification: str = Field(min_length=1, max_length=4000)
    contact: ContactIn


class Created(BaseModel):
    id: str


def create_app(database_url: str | None) -> FastAPI:
    """The app; `/write` only when a database URL is given."""
    db = Database(database_url) if database_url else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if db is not None:
            await create_tables(db)
        yield
        if db is not None:
            await db.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.post("/echo", status_code=201)
    async def echo(body: RequestIn) -> Created:
        return Created(id=str(uuid4()))

    @app.post("/write", status_code=201)
    async def write(body: RequestIn) -> Created:
        assert db is not None, "started without --database-url"
        return Created(id=str(await write_request(db, body.model_dump(mode="json"))))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM, exactly as `vidnova serve` runs a service."""
    parser = argparse.ArgumentParser(prog="python -m bench.minimal_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.database_url),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
