"""The dashboard in a real headless Chromium (Debian's), driven by Playwright.

With UPDATE_SCREENSHOTS=1 the screenshots of every page are written to assets/ (the README's
pictures); otherwise to a temporary folder, so a normal run leaves the tree clean.
"""

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from api.kit.timestamps import rfc3339
from bench.harness import free_port
from tests.builders import snapshot_json
from tests.conftest import ADMIN_HEADERS, ADMIN_KEY, ROOT, SEED_CONFIG
from tests.dashboard.conftest import RestartableApi, serve

ASSETS = ROOT / "assets"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# low/silver: response target 7,200 s, alert when 15 % is left, at 6,120 s.
LOW_SILVER_ALERT = timedelta(seconds=6120)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def api(restartable_api: RestartableApi) -> Iterator[RestartableApi]:
    """The API, running again after each test that stopped it."""
    yield restartable_api
    if restartable_api.process is None:
        restartable_api.start()


@pytest.fixture(scope="module")
def dashboard_url(restartable_api: RestartableApi) -> Iterator[str]:
    """`streamlit run dashboard/streamlit_app.py` against the API, refreshing every second."""
    port = free_port()
    env = {
        **os.environ,
        "SLA_API_URL": restartable_api.base,
        "SLA_API_KEY": ADMIN_KEY,
        "SLA_DASHBOARD_REFRESH_SECONDS": "1",
    }
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py", "--server.port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with serve(command, env, f"{base}/_stcore/health"):
        yield base


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh tab; at the end, every request it made must have stayed on this machine."""
    context = chromium.new_context(viewport={"width": 1440, "height": 960})
    tab = context.new_page()
    seen: list[str] = []
    tab.on("request", lambda request: seen.append(request.url))
    tab.on("websocket", lambda socket: seen.append(socket.url))
    yield tab
    context.close()
    remote = [url for url in seen if urlparse(url).scheme in {"http", "https", "ws", "wss"}]
    assert remote, "no request was logged"
    assert all(urlparse(url).hostname in LOCAL_HOSTS for url in remote), [
        url for url in remote if urlparse(url).hostname not in LOCAL_HOSTS
    ]


def screenshot(page: Page, name: str, folder: Path) -> None:
    target = (ASSETS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else folder) / f"dashboard-{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def post(api: RestartableApi, *snapshots: dict[str, object]) -> None:
    response = requests.post(f"{api.base}/tickets", json=list(snapshots), headers=ADMIN_HEADERS, timeout=10)
    assert response.status_code == 200, response.text


def test_a_ticket_created_in_the_sidebar_is_listed_alerted_in_amber_and_every_page_draws(
    api: RestartableApi, dashboard_url: str, page: Page, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    post(
        api,
        snapshot_json("browser-late", created_at=now - timedelta(hours=2), priority="low", customer_tier="gold"),
        snapshot_json("browser-done", created_at=now - timedelta(hours=1), updated_at=now, status="resolved"),
    )
    page.goto(dashboard_url)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Create or update a ticket")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    expect(page.get_by_test_id("stMainMenu")).to_have_count(0)
    expect(page.get_by_test_id("stAppDeployButton")).to_have_count(0)

    created = datetime.now(UTC) - LOW_SILVER_ALERT + timedelta(seconds=4)
    sidebar.get_by_label("Ticket id").fill("browser-1")
    sidebar.get_by_label("Created at (RFC 3339)").fill(rfc3339(created))
    sidebar.get_by_role("button", name="Send snapshot").click()
    expect(sidebar.get_by_text("browser-1: created")).to_be_visible(timeout=15_000)
    expect(page.locator("table.queue tr.queued", has_text="browser-1")).to_be_visible(timeout=15_000)
    expect(page.locator(".tile").first).to_be_visible()
    expect(page.locator(".vega-embed canvas, .vega-embed svg.marks")).to_have_count(3, timeout=15_000)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    screenshot(page, "overview", tmp_path)

    page.goto(f"{dashboard_url}/tickets")
    row = page.locator('table.tickets tr[data-id="browser-1"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("left")
    expect(page.locator('table.tickets tr[data-id="browser-late"]')).to_contain_text("overdue by")
    expect(page.locator('table.tickets tr[data-id="browser-done"]')).to_have_count(0)
    screenshot(page, "tickets", tmp_path)

    page.goto(f"{dashboard_url}/alerts")
    alert = page.locator("table.events tr.event-alert", has_text="browser-1")
    expect(alert).to_be_visible(timeout=30_000)
    expect(alert).to_have_css("background-color", "rgb(254, 240, 217)")
    expect(alert.locator("td").first).to_have_css("color", "rgb(242, 153, 0)")
    screenshot(page, "alerts", tmp_path)

    page.goto(f"{dashboard_url}/ticket?id=browser-late")
    expect(page.get_by_role("heading", name="browser-late")).to_be_visible(timeout=15_000)
    expect(page.locator("table.timeline tr.entry-breach")).to_be_visible()
    expect(page.locator("table.timeline")).to_contain_text("admin")
    screenshot(page, "ticket", tmp_path)

    page.goto(f"{dashboard_url}/config")
    expect(page.get_by_text("Version 1")).to_be_visible(timeout=15_000)
    page.get_by_label("Candidate sla_config.yaml").fill(SEED_CONFIG.replace("response: 3600", "response: 60"))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("would accept")).to_be_visible(timeout=15_000)
    screenshot(page, "config", tmp_path)


def test_the_breached_tile_opens_the_breached_tickets(api: RestartableApi, dashboard_url: str, page: Page) -> None:
    now = datetime.now(UTC)
    post(
        api,
        snapshot_json("tile-breached", created_at=now - timedelta(hours=3)),
        snapshot_json("tile-healthy", created_at=now, priority="low", customer_tier="silver"),
    )
    page.goto(dashboard_url)
    page.locator('a.tile[data-label="Breached"]').click()

    expect(page).to_have_url(f"{dashboard_url}/tickets?state=breached", timeout=15_000)
    expect(page.locator('table.tickets tr[data-id="tile-breached"]')).to_be_visible(timeout=15_000)
    expect(page.locator('table.tickets tr[data-id="tile-healthy"]')).to_have_count(0)


def test_a_breach_recorded_while_the_page_is_open_shows_a_toast(
    api: RestartableApi, dashboard_url: str, page: Page
) -> None:
    page.goto(dashboard_url)
    expect(page.locator(".tile").first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1_500)  # the status panel notes the newest breach it knows of first

    post(api, snapshot_json("toast-1", created_at=datetime.now(UTC)))  # high/gold: due in 5 s

    expect(page.get_by_test_id("stToast").filter(has_text="toast-1")).to_be_visible(timeout=20_000)


def test_the_page_shows_stale_data_while_the_api_is_down_and_recovers_by_itself(
    api: RestartableApi, dashboard_url: str, page: Page
) -> None:
    post(api, snapshot_json("outage-1", created_at=datetime.now(UTC), priority="low", customer_tier="silver"))
    page.goto(f"{dashboard_url}/tickets")
    row = page.locator('table.tickets tr[data-id="outage-1"]')
    expect(row).to_be_visible(timeout=30_000)

    api.stop()
    banner = page.get_by_text("The API is not reachable.")
    expect(banner).to_have_count(1, timeout=15_000)
    expect(page.get_by_text("stale").first).to_be_visible()
    expect(row).to_be_visible()

    page.reload()  # a page opened while the API is away: no form, no filter choices yet
    expect(banner).to_have_count(1, timeout=30_000)
    api.start()

    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("button", name="Send snapshot")).to_be_visible(timeout=30_000)
    expect(banner).to_have_count(0)
    expect(row).to_be_visible(timeout=15_000)


def test_an_upload_with_a_bad_line_names_that_line(
    api: RestartableApi, dashboard_url: str, page: Page, tmp_path: Path
) -> None:
    created = rfc3339(datetime.now(UTC))
    batch = tmp_path / "batch.csv"
    batch.write_text(
        "id,priority,customer_tier,created_at,updated_at,status\n"
        f"upload-1,low,silver,{created},{created},open\n"
        f"upload-2,urgent,silver,{created},{created},open\n"
    )
    page.goto(dashboard_url)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Upload a batch")).to_be_visible(timeout=30_000)

    sidebar.locator('input[type="file"]').set_input_files(str(batch))
    sidebar.get_by_role("button", name="Send 2 snapshots").click()

    expect(sidebar.get_by_text("line 3, Priority: Pick one of low, high")).to_be_visible(timeout=15_000)
