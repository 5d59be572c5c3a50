"""The reports section times the real thing: at a tiny size, each answer it times is the API's answer."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.report import render_figures
from bench.reports import Case, answer, cases, on_database, reports_section
from bench.reports_data import Shape, fill
from services.allocation.api import reports as reports_api
from shared.auth import Principal, current_principal
from shared.db import Database
from shared.migrations import upgrade
from shared.service import get_session

SHAPE = Shape(300)


async def _database(tmp_path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}"
    await asyncio.to_thread(upgrade, "allocation", url)
    return Database(url)


def _api(db: Database, principal: list[Principal]) -> httpx.AsyncClient:
    """The reports router over HTTP, on the bench's database, as the caller ``principal[0]``."""
    app = FastAPI()
    app.include_router(reports_api.router)

    async def session() -> AsyncIterator[AsyncSession]:
        async with db.session() as opened:
            yield opened

    async def caller() -> Principal:
        return principal[0]

    app.dependency_overrides[get_session] = session
    app.dependency_overrides[current_principal] = caller
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reports")


def _sheet(body: bytes) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    return list(workbook["report"].iter_rows(values_only=True))


def _same(case: Case, timed: bytes, served: bytes) -> None:
    if case.fmt == "json":
        mine, theirs = json.loads(timed), json.loads(served)
        del mine["generated_at"], theirs["generated_at"]
        assert mine == theirs, case.label
    elif case.fmt == "csv":
        assert timed == served, case.label
    else:
        assert _sheet(timed) == _sheet(served), case.label


def _not_empty(case: Case, body: bytes) -> None:
    if case.fmt == "xlsx":
        assert len(_sheet(body)) > 1, case.label
        return
    if case.fmt == "csv":
        assert body.count(b"\r\n") > 1, case.label
        return
    items = json.loads(body)["items"]
    if case.report == "lead-times":
        assert all(item["count"] > 0 for item in items), case.label
    else:
        assert items, case.label


async def test_each_timed_answer_is_the_api_answer_and_not_empty(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    db = await _database(tmp_path)
    principal = [Principal(sub="nobody", role="coordinator")]
    try:
        counts = await fill(db, SHAPE, now=now)
        assert (counts.requests, counts.lots) == (300, 36)
        assert 150 < counts.allocations < 300
        async with _api(db, principal) as client:
            for case in cases(now):
                principal[0] = case.principal
                response = await client.get(
                    f"/v1/reports/{case.report}", params={**case.params, "format": case.fmt}
                )
                assert response.status_code == 200, response.text
                timed = await answer(db, case)
                _same(case, timed, response.content)
                if case.scope == "all" or "own" in case.scope:
                    _not_empty(case, timed)
    finally:
        await db.dispose()


async def test_the_section_puts_each_report_beside_the_floor_of_the_rows_it_reads(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'section.db'}"
    measured = await on_database(url, SHAPE, now=datetime.now(UTC), repeats=1, heap=True)

    floors = measured["floors"]
    counts = measured["counts"]
    assert floors["unmet-need"]["rows"] == counts["requests"] + counts["allocations"]
    assert floors["stock"]["rows"] == counts["lots"] + counts["allocations"]
    assert len(measured["cases"]) == len(cases(datetime.now(UTC)))
    for case in measured["cases"]:
        assert case["median_ms"] > 0
        ratio = case["median_ms"] / floors[case["report"]]["median_ms"]
        assert case["ratio_to_floor"] == pytest.approx(ratio, abs=0.002)
    assert all(
        c["peak_heap_mib"] > 0 for c in measured["cases"] if c["scope"] == "all" and c["format"] == "json"
    )

    section = reports_section(SHAPE, {"sqlite": measured})
    lines = "\n".join(render_figures(section.figures))
    assert "| sqlite: unmet-need, all (p90 " in lines
    assert "SELECT * of its 2 tables" in lines
