"""Admin journeys (SPEC §12): invite, e-mailed link, set password, sign in and out; deactivation; audit."""

from __future__ import annotations

import re
import uuid

import pyotp
from playwright.async_api import Browser, Page, expect

from tests.browser.console import Console, assert_accessible, open_in_english, sign_in

PASSWORD = "brisk-otter-4217"


async def signed_in_admin(page: Page, console: Console) -> None:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    secret = pyotp.random_base32()
    await console.create_account(email, role="admin", name="Ops Admin", totp_secret=secret)
    await open_in_english(page)
    await sign_in(page, email, PASSWORD, totp_secret=secret)
    await expect(page.get_by_role("heading", name="Welcome, Ops Admin")).to_be_visible()


async def test_invited_person_sets_a_password_from_the_emailed_link_and_signs_in(
    page: Page, browser: Browser, console: Console
) -> None:
    await signed_in_admin(page, console)
    invited = f"Mykola.{uuid.uuid4().hex[:6]}@Example.org"
    await page.goto("/admin/accounts")
    await assert_accessible(page)
    await page.get_by_text("Invite").first.click()
    await page.get_by_label("Email").fill(invited)
    await page.get_by_label("Name").fill("Mykola Shevchenko")
    await page.get_by_label("Role").first.select_option("region_admin")
    await page.get_by_label("Region").first.fill("UA-48")
    await page.get_by_role("button", name="Invite").last.click()
    await expect(page.get_by_role("status")).to_have_text("The invitation is on its way by e-mail.")
    await expect(page.get_by_role("cell", name=invited.lower(), exact=True)).to_be_visible()

    link = await console.link_mailed_to(invited.lower())
    phone = await browser.new_context(base_url=console.url, viewport={"width": 360, "height": 740})
    person = await phone.new_page()
    await person.goto(link)
    await person.get_by_role("button", name="English").click()
    await expect(person.get_by_role("heading", name="Set your password")).to_be_visible()
    await assert_accessible(person)
    await person.get_by_label("New password").fill("mykola-2026-long")  # contains the name
    await person.get_by_role("button", name="Set password").click()
    await expect(person.get_by_role("alert")).to_have_text(
        "The password must not contain your email address or name."
    )
    await person.get_by_label("New password").fill("short")
    await person.get_by_label("New password").evaluate("input => input.removeAttribute('minlength')")
    await person.get_by_role("button", name="Set password").click()
    await expect(person.get_by_role("alert")).to_have_text(
        "The password must be at least 12 characters long."
    )
    await person.get_by_label("New password").fill(PASSWORD)
    await person.get_by_role("button", name="Set password").click()
    await expect(person.get_by_role("status")).to_have_text("Your password is set. Sign in with it now.")
    await sign_in(person, invited, PASSWORD)
    await expect(person.get_by_role("heading", name="Welcome, Mykola Shevchenko")).to_be_visible()
    await expect(person.get_by_text("Region administrator (UA-48)")).to_be_visible()
    await assert_accessible(person)  # at 360 px
    await person.goto(link)  # single use
    await expect(person.get_by_role("alert")).to_contain_text("This link is not valid any more.")

    await page.goto("/admin/accounts")
    await page.get_by_role("button", name=f"Deactivate {invited.lower()}").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The account is deactivated and its sessions have ended."
    )
    await person.goto("/inbox")  # the person's session ended with the deactivation
    await expect(person).to_have_url(re.compile(r"/sign-in\?next=/inbox$"))
    await sign_in(person, invited, PASSWORD)
    await expect(person.get_by_role("alert")).to_be_visible()
    await person.context.close()

    await page.goto("/admin/sign-ins")
    await assert_accessible(page)
    for event in ("Invited", "Password set", "Signed in", "Deactivated", "Failed sign-in"):
        await expect(page.get_by_role("cell", name=event, exact=True).first).to_be_visible()


async def test_admin_changes_a_role_and_scope(page: Page, console: Console) -> None:
    email = f"donor-{uuid.uuid4().hex[:8]}@example.org"
    await console.create_account(email, role="donor", donor_id="jica")
    await signed_in_admin(page, console)
    await page.goto("/admin/accounts")
    row = page.get_by_role("row").filter(has_text=email)
    await row.get_by_text("Change role").click()
    await row.get_by_label("Role", exact=True).select_option("donor")
    await row.get_by_label("Donor", exact=True).fill("undp")
    await row.get_by_role("button", name="Save role").click()
    await expect(page.get_by_role("status")).to_have_text("The role has been changed.")
    await expect(page.get_by_role("row").filter(has_text=email)).to_contain_text("Donor (undp)")
    await page.goto("/admin/sign-ins")
    await expect(page.get_by_role("row").filter(has_text="Role changed").first).to_contain_text(
        "donor:jica -> donor:undp"
    )
