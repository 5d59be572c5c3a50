"""The statement's PDF: both locales render, and its text carries the figures, places and request refs."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from shared.events.payloads import (
    DonorStatementIssued,
    FacilityServed,
    Money,
    Period,
    StatementLine,
    StatementTotals,
)
from shared.statement import render_pdf


def _statement() -> DonorStatementIssued:
    return DonorStatementIssued(
        donor_id="jica",
        donor_name_en="Japan International Cooperation Agency",
        donor_name_uk="Японське агентство міжнародного співробітництва",
        month="2026-11",
        period=Period(start=date(2026, 11, 1), end=date(2026, 11, 30)),
        issued_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
        totals=StatementTotals(
            proposed=41,
            approved=37,
            dispatched=29,
            delivered=23,
            rejected_on_receipt=2,
            facilities_served=2,
            median_days_approval_to_delivery=4.5,
            value_delivered=[Money(currency="EUR", amount=Decimal("184500.00"))],
        ),
        lines=[
            StatementLine(
                region="UA-63",
                programme_id="jica-emergency-3",
                programme_name_en="Emergency Recovery, phase 3",
                programme_name_uk="Екстрене відновлення, етап 3",
                delivered=15,
                rejected_on_receipt=2,
                facilities_served=1,
                value_delivered=[Money(currency="EUR", amount=Decimal("120000.00"))],
            ),
            StatementLine(region="UA-59", delivered=8, rejected_on_receipt=0, facilities_served=1),
        ],
        facilities=[
            FacilityServed(
                region="UA-63",
                settlement="Kharkiv",
                facility_name="Saltivka Boiler House",
                request_refs=["UA63-2026-000417", "UA63-2026-000418"],
                categories=["generator"],
                units_received=15,
            ),
            FacilityServed(
                region="UA-59",
                settlement="Okhtyrka",
                facility_name="Okhtyrka District Hospital",
                request_refs=["UA59-2026-000502"],
                categories=["pump"],
                units_received=8,
            ),
        ],
    )


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    # Extraction may break lines inside a cell; the checks look at words, so whitespace is folded.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture(scope="module")
def english() -> str:
    pdf = render_pdf(_statement(), "en")
    assert pdf.startswith(b"%PDF-")
    return _text(pdf)


@pytest.fixture(scope="module")
def ukrainian() -> str:
    return _text(render_pdf(_statement(), "uk"))


def test_english_statement_names_the_donor_and_the_month(english: str) -> None:
    assert "Fulfilment statement" in english
    assert "Japan International Cooperation Agency" in english
    assert "November 2026" in english


def test_ukrainian_statement_has_the_ukrainian_title(ukrainian: str) -> None:
    assert "Звіт про виконання поставок" in ukrainian
    assert "Японське агентство міжнародного співробітництва" in ukrainian
    assert "листопад 2026" in ukrainian


@pytest.mark.parametrize("locale", ["en", "uk"])
def test_statement_carries_the_totals(locale: str, english: str, ukrainian: str) -> None:
    text = english if locale == "en" else ukrainian
    label, value = ("Units proposed", "41") if locale == "en" else ("Запропоновано одиниць", "41")
    assert f"{label} {value}" in text
    delivered = "Units delivered 23" if locale == "en" else "Доставлено одиниць 23"
    assert delivered in text
    money = "184,500.00 EUR" if locale == "en" else "184 500,00 EUR"
    assert money in text
    days = "4.5" if locale == "en" else "4,5"
    assert days in text


def test_statement_names_regions_in_its_locale(english: str, ukrainian: str) -> None:
    assert "Kharkiv Oblast" in english
    assert "Sumy Oblast" in english
    assert "Харківська область" in ukrainian
    assert "Екстрене відновлення, етап 3" in ukrainian
    assert "Поза програмами" in ukrainian


@pytest.mark.parametrize("locale", ["en", "uk"])
def test_statement_lists_every_facility_with_its_request_refs(
    locale: str, english: str, ukrainian: str
) -> None:
    text = english if locale == "en" else ukrainian
    for expected in (
        "Saltivka Boiler House",
        "Okhtyrka District Hospital",
        "UA63-2026-000417",
        "UA59-2026-000502",
    ):
        assert expected in text
    assert ("Generator" if locale == "en" else "Генератор") in text


def test_an_empty_month_renders() -> None:
    empty = _statement().model_copy(
        update={
            "totals": StatementTotals(
                proposed=0, approved=0, dispatched=0, delivered=0, rejected_on_receipt=0, facilities_served=0
            ),
            "lines": [],
            "facilities": [],
        }
    )
    assert "Nothing was delivered this month." in _text(render_pdf(empty, "en"))


def test_rendering_fetches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the statement tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert render_pdf(_statement(), "uk").startswith(b"%PDF-")
