"""Which declared query parameters may be given more than once (lists), and which take one value."""

from __future__ import annotations

from typing import Annotated, Optional

import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.testclient import TestClient

from shared.problems import _takes_many, install_problem_handlers, reject_unknown_query


@pytest.mark.parametrize(
    ("annotation", "many"),
    [(str, False), (str | None, False), (Optional[int], False), (list[str], True), (list[str] | None, True)],  # noqa: UP045
)
def test_lists_take_many_values_and_scalars_one(annotation: object, many: bool) -> None:
    assert _takes_many(annotation) is many


def test_a_list_may_repeat_and_a_scalar_may_not() -> None:
    app = FastAPI(dependencies=[Depends(reject_unknown_query)])
    install_problem_handlers(app)

    @app.get("/things")
    async def things(
        tag: Annotated[list[str] | None, Query()] = None, status: str | None = None
    ) -> dict[str, object]:
        return {"tag": tag, "status": status}

    with TestClient(app) as client:
        assert client.get("/things", params=[("tag", "a"), ("tag", "b")]).json()["tag"] == ["a", "b"]
        twice = client.get("/things", params=[("status", "open"), ("status", "closed")])
        assert twice.status_code == 422
        assert twice.json()["errors"] == [
            {"field": "query.status", "message": "given more than once; it takes one value"}
        ]
