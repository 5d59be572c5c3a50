"""Console pages in-process: a service that is down gives a page naming it, and the session is kept."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from fastapi.testclient import TestClient

from services.console import accounts
from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.db import Database
from shared.migrations import upgrade

PASSWORD = "brisk-otter-4217"


async def _account(url: str) -> None:
    db = Database(url)
    try:
        async with db.session() as session, session.begin():
            new = accounts.NewAccount(
                email="c@example.org", display_name="C", role="coordinator", locale="en"
            )
            await accounts.create_account(session=session, new=new, password=PASSWORD)
    finally:
        await db.dispose()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_a_service_that_is_down_is_named_on_the_page_and_the_person_stays_signed_in(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/console.db"
    upgrade("console", url)
    asyncio.run(_account(url))
    settings = ConsoleSettings(
        database_url=url,
        notifications_url="http://127.0.0.1:9",  # discard port: nothing answers
        upstream_timeout_s=2,
        auth={"secret": "s" * 40, "state_dir": tmp_path},
        kafka={"bootstrap_servers": "127.0.0.1:9"},
    )
    with TestClient(create_app(settings), base_url="http://console.test") as browser:
        page = browser.get("/sign-in")
        signed_in = browser.post(
            "/sign-in", data={"csrf_token": _csrf(page.text), "email": "c@example.org", "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        assert "Welcome, C" in signed_in.text
        assert 'id="unread-count"' in signed_in.text  # the frame shows without the notifications service
        assert "The notifications service is unavailable" in signed_in.text  # home names it, once
        assert signed_in.text.count("The notifications service is unavailable") == 1
        inbox = browser.get("/inbox")
        assert inbox.status_code == 503
        assert "The notifications service is unavailable" in inbox.text
        assert "You are still signed in." in inbox.text
        assert browser.get("/account", follow_redirects=False).status_code == 200


def test_outside_development_the_session_cookie_is_secure_and_an_incomplete_form_gets_a_page(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/console.db"
    upgrade("console", url)
    asyncio.run(_account(url))
    settings = ConsoleSettings(
        database_url=url,
        auth={"secret": "s" * 40, "state_dir": tmp_path, "environment": "production"},
        kafka={"bootstrap_servers": "127.0.0.1:9"},
    )
    with TestClient(create_app(settings), base_url="https://console.test") as browser:
        page = browser.get("/sign-in")
        signed_in = browser.post(
            "/sign-in",
            data={"csrf_token": _csrf(page.text), "email": "c@example.org", "password": PASSWORD},
            follow_redirects=False,
        )
        cookie = next(
            v for k, v in signed_in.headers.multi_items() if k == "set-cookie" and "vidnova_session" in v
        )
        assert "HttpOnly" in cookie
        assert "Secure" in cookie
        assert "SameSite=lax" in cookie
        account_page = browser.get("/account")
        incomplete = browser.post("/account/password", data={"csrf_token": _csrf(account_page.text)})
        assert incomplete.status_code == 400
        assert "The form was not complete" in incomplete.text
