"""The donor registry's pages and donors' names on the stock pages, against a real allocation service.

The console and the allocation service run as processes; a person signs in over HTTP as a browser would."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pyotp
import pytest

from services.console import accounts
from shared.db import Database
from tests.conftest import Infra
from tests.factories import lot_body
from tests.support.stack import ServiceStack, make_stack

PASSWORD = "brisk-otter-4217"
TOTP_SECRET = pyotp.random_base32()
UNDP = {"name_en": "UNDP Ukraine", "name_uk": "ПРООН в Україні"}


@pytest.fixture(scope="module")
async def stack(infra: Infra) -> AsyncIterator[ServiceStack]:
    """The console and the allocation service (the registry's owner); nothing else is needed here."""
    running = await make_stack(
        broker=infra.broker,
        database=infra.database,
        tmp_dir=infra.tmp_dir,
        names=("allocation", "console"),
        VIDNOVA_ENV="development",  # cookies without Secure: the test talks plain HTTP
    )
    db = Database(running.database_url("console"))
    people = [
        accounts.NewAccount(email="admin@example.org", display_name="Ops", role="admin", locale="en"),
        accounts.NewAccount(email="adminka@example.org", display_name="Оля", role="admin", locale="uk"),
        accounts.NewAccount(email="coord@example.org", display_name="Taras", role="coordinator", locale="uk"),
        accounts.NewAccount(
            email="kharkiv@example.org", display_name="Ivan", role="region_admin", region="UA-63"
        ),
    ]
    try:
        async with db.session() as session, session.begin():
            for new in people:
                account = await accounts.create_account(session=session, new=new, password=PASSWORD)
                if new.role == "admin":
                    account.totp_secret, account.totp_enabled = TOTP_SECRET, True
        yield running
    finally:
        await db.dispose()
        running.stop()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


@asynccontextmanager
async def signed_in(stack: ServiceStack, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a live console session of this person (admins pass their second factor)."""
    async with httpx.AsyncClient(
        base_url=stack.url("console"), follow_redirects=True, timeout=30.0
    ) as client:
        yield await _sign_in(client, email)


async def _sign_in(client: httpx.AsyncClient, email: str) -> httpx.AsyncClient:
    page = await client.get("/sign-in")
    answer = await client.post(
        "/sign-in", data={"csrf_token": csrf_of(page.text), "email": email, "password": PASSWORD}
    )
    if "/sign-in/totp" in str(answer.url):
        code = pyotp.TOTP(TOTP_SECRET).now()
        answer = await client.post("/sign-in/totp", data={"csrf_token": csrf_of(answer.text), "code": code})
    assert answer.status_code == 200, answer.text[:500]
    assert 'href="/sign-out"' in answer.text
    return client


async def post_form(client: httpx.AsyncClient, path: str, form_page: str, **fields: str) -> httpx.Response:
    """Submit a form of ``form_page`` (its CSRF token and Idempotency-Key) with these fields."""
    data = {"csrf_token": csrf_of(form_page), **fields}
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form_page)
    if key:
        data["idempotency_key"] = key.group(1)
    return await client.post(path, data=data)


def donor_fields(donor_id: str, **overrides: str) -> dict[str, str]:
    fields = {"id": donor_id, **UNDP, "kind": "agency", "country": "UA", "contact_emails": "a@undp.example"}
    fields.update(overrides)
    return fields


def programme_fields(programme_id: str, **overrides: str) -> dict[str, str]:
    fields = {
        "id": programme_id,
        "name_en": "Energy resilience",
        "name_uk": "Енергетична стійкість",
        "period_start": "2025-01-01",
        "period_end": "2026-12-31",
        "budget_amount": "42 500 000,50",
        "budget_currency": "USD",
        "implementing_partner": "UNOPS",
    }
    fields.update(overrides)
    return fields


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def text_of(page: str) -> str:
    return html.unescape(page)


async def registered(stack: ServiceStack, donor_id: str, programme_id: str | None = None) -> None:
    """A donor (and a programme) registered through the API, as set-up for the pages under test."""
    async with stack.client("allocation", "admin") as api:
        body: dict[str, Any] = {"id": donor_id, **UNDP, "kind": "agency", "country": "UA"}
        assert (await api.post("/v1/donors", json=body)).status_code == 201
        if programme_id:
            programme = {
                "id": programme_id,
                "donor_id": donor_id,
                "name_en": "Energy resilience",
                "name_uk": "Енергетична стійкість",
                "period": {"start": "2025-01-01", "end": "2026-12-31"},
                "budget": {"currency": "USD", "amount": "1000000"},
            }
            assert (await api.post("/v1/programmes", json=programme)).status_code == 201


async def test_an_admin_registers_a_donor_and_a_programme_through_the_pages(stack: ServiceStack) -> None:
    donor_id, programme_id = new_id("undp"), new_id("resilience")
    async with signed_in(stack, "admin@example.org") as admin:
        listing = await admin.get("/donors")
        assert listing.status_code == 200
        assert "Register donor" in listing.text
        assert 'href="/donors"' in listing.text  # in the navigation
        created = await post_form(admin, "/donors", listing.text, **donor_fields(donor_id))
        assert created.status_code == 200, created.text[:800]
        assert str(created.url).endswith(f"/donors/{donor_id}")
        assert "<h1>UNDP Ukraine</h1>" in created.text
        assert "a@undp.example" in created.text
        added = await post_form(
            admin, f"/donors/{donor_id}/programmes", created.text, **programme_fields(programme_id)
        )
        assert added.status_code == 200, added.text[:800]
        row = text_of(added.text).split(f'id="programme-{programme_id}"')[1].split("</tr>")[0]
        assert "Energy resilience" in row
        assert "$42,500,000.50" in row
        assert "UNOPS" in row
        edited = await post_form(
            admin,
            f"/donors/{donor_id}",
            added.text,
            **{**donor_fields(donor_id), "name_en": "UNDP in Ukraine", "contact_emails": "b@undp.example"},
        )
        assert "<h1>UNDP in Ukraine</h1>" in edited.text
        assert "b@undp.example" in edited.text
        again = await admin.get("/donors")
        assert f'<a href="/donors/{donor_id}">UNDP in Ukraine</a>' in again.text
    async with stack.client("allocation", "admin") as api:
        programme = (await api.get(f"/v1/programmes/{programme_id}")).json()
    assert programme["budget"] == {"currency": "USD", "amount": "42500000.50"}
    assert programme["donor_id"] == donor_id


async def test_a_refused_field_is_named_beside_it_in_ukrainian_and_what_was_typed_is_kept(
    stack: ServiceStack,
) -> None:
    donor_id = new_id("jica")
    async with signed_in(stack, "adminka@example.org") as admin:
        listing = await admin.get("/donors")
        bad = await post_form(
            admin, "/donors", listing.text, **donor_fields(donor_id, contact_emails="not-an-address")
        )
        assert bad.status_code == 422
        page = text_of(bad.text)
        assert 'id="donor-contact_emails" name="contact_emails"' in page
        assert 'aria-describedby="donor-contact_emails-help donor-contact_emails-error"' in page
        assert re.search(r'id="donor-contact_emails-error">Введіть правильні адреси', page)
        assert 'value="ПРООН в Україні"' in page  # typed names are kept
        assert ">not-an-address</textarea>" in page
        fixed = await post_form(admin, "/donors", bad.text, **donor_fields(donor_id))
        assert fixed.status_code == 200
        taken = await post_form(admin, "/donors", (await admin.get("/donors")).text, **donor_fields(donor_id))
        assert taken.status_code == 409
        assert 'id="donor-id-error">Цей ідентифікатор уже зареєстровано.' in text_of(taken.text)

        donor_page = await admin.get(f"/donors/{donor_id}")
        backwards = programme_fields(new_id("p"), period_start="2026-06-01", period_end="2026-01-01")
        refused = await post_form(admin, f"/donors/{donor_id}/programmes", donor_page.text, **backwards)
        assert refused.status_code == 422
        page = text_of(refused.text)
        assert 'id="programme-period_end-error">Кінець не може бути раніше за початок.' in page
        assert 'value="Енергетична стійкість"' in page
        yen = programme_fields(new_id("p"), budget_amount="10.5", budget_currency="JPY")
        refused = await post_form(admin, f"/donors/{donor_id}/programmes", refused.text, **yen)
        assert 'id="programme-budget_amount-error"' in refused.text


async def test_coordinators_read_the_registry_and_region_admins_are_refused(stack: ServiceStack) -> None:
    donor_id = new_id("read")
    await registered(stack, donor_id)
    async with signed_in(stack, "coord@example.org") as coordinator:
        listing = await coordinator.get("/donors")
        assert listing.status_code == 200
        assert f'<a href="/donors/{donor_id}">ПРООН в Україні</a>' in text_of(listing.text)
        assert 'action="/donors"' not in listing.text  # no "Register donor" form
        detail = await coordinator.get(f"/donors/{donor_id}")
        assert "<h1>ПРООН в Україні</h1>" in text_of(detail.text)
        assert 'action="/donors/' not in detail.text
        refused = await post_form(coordinator, "/donors", listing.text, **donor_fields(new_id("x")))
        assert refused.status_code == 403
        assert (await coordinator.get("/donors/no-such-donor")).status_code == 404
    async with signed_in(stack, "kharkiv@example.org") as region_admin:
        assert (await region_admin.get("/donors")).status_code == 403
        assert 'href="/donors"' not in (await region_admin.get("/account")).text


async def test_stock_pages_name_the_donor_in_the_page_language_and_an_unregistered_one_by_id(
    stack: ServiceStack,
) -> None:
    donor_id, programme_id, unknown = new_id("named"), new_id("prog"), new_id("unregistered")
    await registered(stack, donor_id, programme_id)
    async with stack.client("allocation", "coordinator") as api:
        body = lot_body(donor_id=donor_id, programme_id=programme_id, unit_value="12500", currency="EUR")
        lot = (await api.post("/v1/lots", json=body)).json()
        other = (await api.post("/v1/lots", json=lot_body(donor_id=unknown))).json()
    async with signed_in(stack, "coord@example.org") as uk:
        page = text_of((await uk.get(f"/lots/{lot['id']}")).text)
        assert f'<a href="/donors/{donor_id}">ПРООН в Україні</a>' in page
        assert '<dd id="lot-programme">Енергетична стійкість</dd>' in page
        assert "12 500,00 EUR" in page.replace("\u00a0", " ").replace("\u202f", " ")
        listing = text_of((await uk.get("/lots", params={"programme_id": programme_id})).text)
        assert "<td>ПРООН в Україні</td>" in listing
        assert unknown not in listing  # filtered by programme
        assert f"<td>{unknown}</td>" in text_of((await uk.get("/lots", params={"donor_id": unknown})).text)
        assert f'<dd id="lot-donor">{unknown}</dd>' in text_of((await uk.get(f"/lots/{other['id']}")).text)
    async with signed_in(stack, "admin@example.org") as en:
        page = text_of((await en.get(f"/lots/{lot['id']}")).text)
        assert f'<a href="/donors/{donor_id}">UNDP Ukraine</a>' in page
        assert '<dd id="lot-programme">Energy resilience</dd>' in page


async def test_register_lot_offers_the_donors_programmes_and_takes_a_unit_value(stack: ServiceStack) -> None:
    donor_id, programme_id = new_id("lotform"), new_id("prog")
    await registered(stack, donor_id, programme_id)
    async with signed_in(stack, "admin@example.org") as admin:
        form = await admin.get("/lots/new", params={"category": "generator"})
        assert f'<option value="{programme_id}">Energy resilience</option>' in form.text
        narrowed = await admin.get("/lots/new/programmes", params={"donor_id": donor_id})
        assert '<optgroup label="UNDP Ukraine">' in narrowed.text
        assert narrowed.text.count("<optgroup") == 1
        fields = {
            "donor_id": donor_id,
            "category": "generator",
            "specs.power_kw": "500",
            "specs.fuel": "diesel",
            "specs.phases": "three",
            "quantity": "2",
            "location_region": "UA-32",
            "site": "Бориспіль",
            "programme_id": programme_id,
            "unit_value": "1,5",
            "currency": "JPY",
        }
        refused = await post_form(admin, "/lots/new", form.text, **fields)
        assert refused.status_code == 422
        assert 'id="lot-unit-value-error"' in refused.text
        assert f'<option value="{programme_id}" selected>' in refused.text  # the choice is kept
        created = await post_form(admin, "/lots/new", refused.text, **{**fields, "currency": "EUR"})
        assert created.status_code == 200, created.text[:800]
        assert '<dd id="lot-programme">Energy resilience</dd>' in created.text
        assert "€1.50" in created.text
