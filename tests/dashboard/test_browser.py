"""The dashboard in a real headless Chromium (Debian's), driven by Playwright."""

import os
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from api.kit.timestamps import rfc3339
from bench.harness import free_port
from tests.conftest import ADMIN_KEY, ROOT
from tests.dashboard.conftest import serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The README's picture; refreshed when UPDATE_SCREENSHOT=1 so a normal run leaves the tree clean.
README_SCREENSHOT = ROOT / "assets" / "dashboard.png"
# low/silver: response target 7,200 s, alert when 15 % is left, at 6,120 s.
LOW_SILVER_ALERT = timedelta(seconds=6120)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dashboard_url(live_api: str) -> Iterator[str]:
    """`streamlit run dashboard/streamlit_app.py` against the live API."""
    port = free_port()
    env = {**os.environ, "SLA_API_URL": live_api, "SLA_API_KEY": ADMIN_KEY, "SLA_DASHBOARD_REFRESH_SECONDS": "1"}
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py",
        "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with serve(command, env, f"{base}/_stcore/health"):
        yield base


@pytest.fixture
def page() -> Iterator[Page]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is not installed at {CHROMIUM}; .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        tab = browser.new_page(viewport={"width": 1440, "height": 960})
        yield tab
        browser.close()


def test_a_ticket_created_in_the_sidebar_is_listed_alerts_in_amber_and_opens_its_detail(
    dashboard_url: str, page: Page, tmp_path: Path
) -> None:
    page.goto(dashboard_url)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Create or update a ticket")).to_be_visible(timeout=30_000)

    created = datetime.now(UTC) - LOW_SILVER_ALERT + timedelta(seconds=6)
    sidebar.get_by_label("Ticket id").fill("browser-1")
    sidebar.get_by_label("Created at (RFC 3339)").fill(rfc3339(created))
    sidebar.get_by_role("button", name="Send snapshot").click()
    expect(sidebar.get_by_text("browser-1: created")).to_be_visible(timeout=15_000)

    page.goto(f"{dashboard_url}/tickets")
    row = page.locator('table.tickets tr[data-id="browser-1"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("on track")

    page.goto(f"{dashboard_url}/alerts")
    alert = page.locator("table.events tr.event-alert", has_text="browser-1")
    expect(alert).to_be_visible(timeout=30_000)
    expect(alert).to_have_css("background-color", "rgb(254, 240, 217)")
    expect(alert.locator("td").first).to_have_css("color", "rgb(242, 153, 0)")
    screenshot = README_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000

    alert.get_by_role("link", name="browser-1").click()
    expect(page.get_by_role("heading", name="browser-1")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Response clock")).to_be_visible()
    expect(page.locator("table.events tr.event-alert")).to_be_visible()
