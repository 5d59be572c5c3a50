"""The inbox (SPEC §13, §14.5): newest first, "Mark read", and a new notification appearing without reload."""

from __future__ import annotations

import uuid

from playwright.async_api import Page, expect

from tests.browser.console import Console, assert_accessible, open_in_english, sign_in
from tests.factories import request_submitted
from tests.support.polling import eventually

PASSWORD = "brisk-otter-4217"


async def test_a_notification_published_while_the_inbox_is_open_appears_without_reload(
    page: Page, console: Console
) -> None:
    email = f"coord-{uuid.uuid4().hex[:8]}@example.org"
    await console.create_account(email, role="coordinator")
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await page.goto("/inbox")
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    await assert_accessible(page)
    before = await page.locator(".inbox-item").count()
    unread_before = await page.locator("#unread-count").inner_text()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    await console.publish(request_submitted(priority="critical"))

    await expect(page.locator(".inbox-item")).to_have_count(before + 1, timeout=30_000)
    await expect(page.locator("#unread-count")).not_to_have_text(unread_before, timeout=30_000)
    assert navigations == []  # it arrived over the stream, not by a reload
    newest = page.locator(".inbox-item").first
    await expect(newest).to_have_class("inbox-item unread")
    unread_now = int(await page.locator("#unread-count").inner_text())
    await newest.get_by_role("button", name="Mark read").click()
    await expect(page.locator(".inbox-item").first).to_contain_text("Read")
    await expect(page.locator("#unread-count")).to_have_text(str(unread_now - 1))
    await assert_accessible(page)


async def test_the_stream_reconnects_when_its_token_expires_and_misses_nothing(
    page: Page, console: Console
) -> None:
    email = f"coord-{uuid.uuid4().hex[:8]}@example.org"
    await console.create_account(email, role="coordinator")
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    streams: list[str] = []
    page.on(
        "request", lambda request: streams.append(request.url) if "/inbox/stream" in request.url else None
    )
    await page.goto("/inbox")
    before = await page.locator(".inbox-item").count()
    # Tokens last 10 s here: each upstream stream ends with its token and the browser opens a new one.

    async def opened() -> int:
        return len(streams)

    await eventually(opened, until=lambda count: count >= 3, timeout_s=40, interval_s=0.2, what="reconnects")
    await console.publish(request_submitted(priority="critical"))
    await expect(page.locator(".inbox-item")).to_have_count(before + 1, timeout=30_000)
