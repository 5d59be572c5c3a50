"""Sign-in journeys (SPEC §12, §13): password, lockout, TOTP, language, CSRF, expired sessions."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pyotp
from playwright.async_api import Page, expect

from tests.browser.console import Console, assert_accessible, current_code, open_in_english, sign_in

PASSWORD = "brisk-otter-4217"
REFUSED = "The email or password is wrong, or the account is locked for a while."


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.org"


async def test_sign_in_shows_the_home_page_and_sign_out_ends_the_session(
    page: Page, console: Console
) -> None:
    email = unique_email("coord")
    await console.create_account(email, role="coordinator", name="Olena Koval")
    await open_in_english(page)
    await assert_accessible(page)
    await sign_in(page, email.upper(), PASSWORD)  # the email is compared without case
    await expect(page.get_by_role("heading", name="Welcome, Olena Koval")).to_be_visible()
    await expect(page.get_by_text("Coordinator").first).to_be_visible()
    await assert_accessible(page)
    cookie = next(c for c in await page.context.cookies() if c["name"] == "vidnova_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # VIDNOVA_ENV=development: plain http on this machine

    await page.goto("/sign-out")
    await assert_accessible(page)
    await page.get_by_role("main").get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await assert_accessible(page)
    await page.goto("/inbox")
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=/inbox$"))


async def test_five_failures_lock_the_account_with_the_same_answer_as_an_unknown_email(
    page: Page, console: Console
) -> None:
    email = unique_email("locked")
    await console.create_account(email)
    await open_in_english(page)
    for _ in range(5):
        await sign_in(page, email, "not-the-password-1")
        await expect(page.get_by_role("alert")).to_have_text(REFUSED)
    await sign_in(page, email, PASSWORD)  # right password, locked account
    await expect(page.get_by_role("alert")).to_have_text(REFUSED)
    await sign_in(page, unique_email("nobody"), PASSWORD)
    await expect(page.get_by_role("alert")).to_have_text(REFUSED)
    await assert_accessible(page)


async def test_admin_enrols_totp_after_the_password_and_then_signs_in_with_a_code(
    page: Page, console: Console
) -> None:
    email = unique_email("admin")
    await console.create_account(email, role="admin", name="Ops Admin")
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    await expect(page.get_by_text("Administrators must use two-step sign-in.")).to_be_visible()
    await page.goto("/admin/accounts")  # no page before enrolment: back to it, then on to the page
    await expect(page).to_have_url(re.compile(r"/account/totp\?next=/admin/accounts$"))
    await assert_accessible(page)
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    assert pyotp.TOTP(secret).now()
    await page.get_by_label("Code", exact=True).fill(current_code(secret))
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.get_by_role("heading", name="Accounts")).to_be_visible()

    await page.context.clear_cookies()
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("heading", name="Authentication code")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_label("Code", exact=True).fill(
        "000000" if current_code(secret) != "000000" else "111111"
    )
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("alert")).to_have_text("The code is wrong or expired. Try the newest code.")
    await page.get_by_label("Code", exact=True).fill(current_code(secret))
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("heading", name="Welcome, Ops Admin")).to_be_visible()
    await page.goto("/admin/accounts")
    await expect(page.get_by_role("heading", name="Accounts")).to_be_visible()


async def test_language_switch_is_remembered_on_the_account(page: Page, console: Console) -> None:
    email = unique_email("lang")
    await console.create_account(email, role="region_admin", region="UA-63", name="Andrii")
    await page.goto("/sign-in")
    await expect(page.get_by_role("heading", name="Увійти")).to_be_visible()  # Ukrainian by default
    await page.get_by_label("Електронна пошта").fill(email)
    await page.get_by_label("Пароль").fill(PASSWORD)
    await page.get_by_role("button", name="Увійти").click()
    await expect(page.get_by_text("Адміністратор регіону").first).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("link", name="Sign out")).to_be_visible()
    await expect(page.get_by_text("Region administrator").first).to_be_visible()
    await assert_accessible(page)

    await page.context.clear_cookies()  # another browser: the account remembers English
    await page.goto("/sign-in")
    await page.get_by_label("Електронна пошта").fill(email)
    await page.get_by_label("Пароль").fill(PASSWORD)
    await page.get_by_role("button", name="Увійти").click()
    await expect(page.get_by_role("link", name="Sign out")).to_be_visible()


async def test_a_form_without_its_csrf_token_is_refused(page: Page, console: Console) -> None:
    email = unique_email("csrf")
    await console.create_account(email)
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    await page.goto("/account")
    await assert_accessible(page)
    await page.locator('form[action="/account/password"] input[name="csrf_token"]').evaluate(
        "input => input.value = 'forged'"
    )
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password").fill("another-long-phrase-9")
    await page.get_by_role("main").get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    await assert_accessible(page)
    response = await page.request.post("/language", form={"locale": "uk", "next": "/"})
    assert response.status == 403
    # Neither request changed anything: the old password still signs in.
    await page.context.clear_cookies()
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()


async def test_an_expired_session_signs_in_again_and_returns_to_the_page_asked_for(
    page: Page, console: Console
) -> None:
    email = unique_email("expired")
    await console.create_account(email)
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    await console.age_sessions(email, by=timedelta(hours=24, minutes=1))
    await page.goto("/account?tab=security")
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=/account%3Ftab%3Dsecurity$"))
    await sign_in(page, email, PASSWORD)
    await expect(page).to_have_url(re.compile(r"/account\?tab=security$"))
    await expect(page.get_by_role("heading", name="My account")).to_be_visible()


async def test_a_page_outside_the_role_answers_403_with_a_page_saying_so(
    page: Page, console: Console
) -> None:
    email = unique_email("donor")
    await console.create_account(email, role="donor", donor_id="jica")
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    response = await page.goto("/admin/accounts")
    assert response is not None
    assert response.status == 403
    await expect(page.get_by_role("heading", name="You may not see this page")).to_be_visible()
    await assert_accessible(page)
    response = await page.goto("/no-such-page")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    await assert_accessible(page)
