"""The report pages for `make screenshots`: /reports (coordinator) and /needs (donor); uk, en; 1280, 360 px;
and the first page of UNDP's monthly statement (PDF, through the console's download) as a PNG.

Run alone on the stock pages' stack: `python -m tests.browser.report_screenshots docs/screenshots`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from shared.auth import mint_token
from shared.settings import ALL_SERVICE_NAMES
from tests.browser.console import CHROMIUM, Console, start_console, stop_console
from tests.browser.stock_setup import file_request
from tests.support.infra import BrokerChoice, DatabaseChoice, start_broker, stop_broker
from tests.support.polling import eventually

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
# Requests for front-line Donetsk and Sumy, which no lot answers (the needs board's rows), and one more for
# Kherson, which the UNDP lot there answers.
UNMET = (("UA-14", "critical"), ("UA-14", "high"), ("UA-59", "high"), ("UA-65", "medium"))
UNDP = {
    "id": "undp",
    "name_en": "UNDP Ukraine",
    "name_uk": "ПРООН в Україні",
    "kind": "agency",
    "country": "UA",
}
SignedIn = Callable[[Browser, Console, str, str, dict[str, int]], Awaitable[Page]]


async def fill_needs(console: Console) -> None:
    """Requests with no stock for them, then wait until the reports' projection counts them."""
    for region, priority in UNMET:
        await file_request(console, region, priority=priority)
    token = mint_token(secret=console.stack.secret, sub="screenshots", role="coordinator")

    async def regions() -> set[Any]:
        async with console.stack.client("allocation") as client:
            response = await client.get(
                "/v1/reports/unmet-need", headers={"Authorization": f"Bearer {token}"}
            )
        return {row["region"] for row in response.json()["items"] if row["unmet"]}

    wanted = {"UA-14", "UA-59"}
    await eventually(regions, until=wanted.issubset, timeout_s=60, interval_s=0.3, what="unmet need")
    admin = mint_token(secret=console.stack.secret, sub="screenshots", role="admin")
    async with console.stack.client("allocation") as client:  # named in the reports and the statement
        registered = await client.post("/v1/donors", json=UNDP, headers={"Authorization": f"Bearer {admin}"})
        assert registered.status_code == 201, registered.text
    await _deliver_one(console, region="UA-65", donor="undp")


async def _deliver_one(console: Console, *, region: str, donor: str) -> None:
    """One proposal in this region approved, dispatched and received: a figure in donor fulfilment."""
    tokens = {
        "coordinator": mint_token(secret=console.stack.secret, sub="shots", role="coordinator"),
        "donor": mint_token(secret=console.stack.secret, sub="shots", role="donor", donor_id=donor),
        "region_admin": mint_token(
            secret=console.stack.secret, sub="shots", role="region_admin", region=region
        ),
    }

    def as_(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    async with console.stack.client("allocation") as client:
        found = await client.get("/v1/allocations", params={"status": "proposed"}, headers=as_("coordinator"))
        proposal = next(a for a in found.json()["items"] if a["donor_id"] == donor)
        path = f"/v1/allocations/{proposal['id']}"
        steps = (
            ("coordinator", "approve", None),
            ("donor", "dispatch", {"waybill": "WB-2026-0107", "carrier": "Нова пошта Вантаж"}),
            ("region_admin", "deliver", {"received_quantity": proposal["quantity"]}),
        )
        for role, step, body in steps:
            response = await client.post(f"{path}/{step}", json=body, headers=as_(role))
            assert response.status_code == 200, response.text


async def shoot_report_pages(
    browser: Browser,
    console: Console,
    out: Path,
    locale: str,
    signed_in: SignedIn,
    *,
    coordinator: str,
    donor: str,
) -> list[Path]:
    """/reports (unmet need and donor fulfilment) and /needs, desktop and phone, in one language."""
    written: list[Path] = []
    for suffix, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await signed_in(browser, console, coordinator, locale, viewport)
        for path, name in (("/reports", "reports"), ("/reports?report=donor-fulfilment", "reports-donors")):
            await page.goto(path)
            written.append(out / f"{name}-{locale}-{suffix}.png")
            await page.screenshot(path=written[-1], full_page=True)
        if suffix == "desktop":
            written.append(await _statement_page(page, out / f"statement-{locale}.png"))
        await page.context.close()
        page = await signed_in(browser, console, donor, locale, viewport)
        await page.goto("/needs")
        written.append(out / f"needs-{locale}-{suffix}.png")
        await page.screenshot(path=written[-1], full_page=True)
        await page.context.close()
    return written


async def _statement_page(page: Page, png: Path) -> Path:
    """UNDP's statement for this month (to date) as the console gives it; its first page as a PNG."""
    month = datetime.now(UTC).strftime("%Y-%m")
    answer = await page.request.get(f"/reports/statement?donor=undp&month={month}")
    assert answer.ok, (answer.status, (await answer.text())[:2000])
    with tempfile.TemporaryDirectory(prefix="vidnova-statement-") as tmp:
        pdf = Path(tmp) / "statement.pdf"
        pdf.write_bytes(await answer.body())
        # Poppler's pdftoppm (Debian's poppler-utils, which `make screenshots` installs): page 1 at 110 dpi.
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "110",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(png.with_suffix("")),
            ],
            check=True,
        )
    return png


async def main(out: Path) -> None:
    """The stock pages' stack and data, and only the report pages shot."""
    from tests.browser import stock_screenshots as stock  # the stock pages' accounts and sign-in

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidnova-screenshots-") as tmp:
        workdir = Path(tmp)
        broker = BrokerChoice("embedded", supports_idempotence=False)
        start_broker(broker, workdir)
        try:
            console = await start_console(broker, DatabaseChoice("sqlite"), workdir, names=ALL_SERVICE_NAMES)
            try:
                await stock.fill_stock(console)
                await fill_needs(console)
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path=CHROMIUM, args=["--no-sandbox"]
                    )
                    for locale in ("uk", "en"):
                        for path in await shoot_report_pages(
                            browser,
                            console,
                            out,
                            locale,
                            stock.signed_in,
                            coordinator=stock.COORDINATOR,
                            donor=stock.DONOR,
                        ):
                            print(path)
                    await browser.close()
            finally:
                await stop_console(console)
        finally:
            stop_broker(broker)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
