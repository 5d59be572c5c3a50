"""A page of sections: a service that is down empties its own section and is named once."""

from __future__ import annotations

from services.console.api.frame import Sections
from services.console.clients import ServiceUnavailable


async def _answer(value: list[str]) -> list[str]:
    return value


async def _down(service: str) -> list[str]:
    raise ServiceUnavailable(service, "ConnectError")


async def test_each_section_reads_on_its_own_and_the_down_services_are_named_once_in_order() -> None:
    sections = Sections()
    assert await sections.read(_down("notifications"), empty=[]) == []
    assert await sections.read(_answer(["a1"]), empty=[]) == ["a1"]
    assert await sections.read(_down("allocation"), empty=["none"]) == ["none"]
    assert await sections.read(_down("notifications"), empty=[]) == []
    assert sections.down == ["notifications", "allocation"]
