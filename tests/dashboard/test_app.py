"""Every page of the dashboard through Streamlit's AppTest, against the real API on a real database."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from streamlit.testing.v1 import AppTest

from api.kit.timestamps import rfc3339
from tests.builders import snapshot_json
from tests.conftest import ADMIN_HEADERS, ROOT

# The API as the tests reach it directly, with the admin key.
admin_api = requests.Session()
admin_api.headers.update(ADMIN_HEADERS)

APP = str(ROOT / "dashboard" / "streamlit_app.py")


def app(page: str | None = None, **query: str) -> AppTest:
    test = AppTest.from_file(APP, default_timeout=30)
    for key, value in query.items():
        test.query_params[key] = value
    test.run()
    if page is not None:
        test.switch_page(page)
        test.run()
    assert not test.exception, test.exception
    return test


@pytest.fixture(scope="module")
def seeded(live_api: str) -> str:
    """Tickets in every state, and their events recorded by the live evaluator."""
    now = datetime.now(UTC)
    batch = [
        snapshot_json("app-breached", created_at=now - timedelta(hours=1)),
        snapshot_json("app-healthy", created_at=now, priority="low", customer_tier="silver"),
        snapshot_json("app-done", created_at=now - timedelta(minutes=30), updated_at=now, status="resolved"),
    ]
    assert admin_api.post(f"{live_api}/tickets", json=batch, timeout=10).status_code == 200
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while len(admin_api.get(f"{live_api}/alerts", timeout=10).json()["items"]) < 2:
        assert datetime.now(UTC) < deadline, "the evaluator did not record the events"
    return live_api


def test_the_overview_tiles_match_the_summary(seeded: str, dashboard_env: str) -> None:
    summary = admin_api.get(f"{seeded}/dashboard/summary", timeout=10).json()

    page = app()

    tiles = {metric.label: metric.value for metric in page.metric}
    assert tiles["Open tickets"] == f"{summary['open_tickets']:,}"
    assert tiles["Breached"] == f"{summary['by_state']['breached']:,}"
    assert tiles["At risk"] == f"{summary['by_state']['at_risk']:,}"
    assert tiles["Response compliance"] == f"{summary['compliance']['response']['compliance'] * 100:.1f} %"


def test_the_alerts_page_lists_breaches_in_red_and_alerts_in_amber(seeded: str, dashboard_env: str) -> None:
    page = app("app_pages/alerts.py")

    table = page.html[0].proto.body
    assert "app-breached" in table
    assert "event-breach" in table
    assert "event-alert" in table


def test_the_alerts_page_filters_by_kind(seeded: str, dashboard_env: str) -> None:
    page = app("app_pages/alerts.py")
    page.multiselect(key="alerts_kind").select("breach").run()

    table = page.html[0].proto.body
    assert "event-breach" in table
    assert "event-alert" not in table


def test_the_tickets_page_lists_nearest_deadline_first_and_filters(seeded: str, dashboard_env: str) -> None:
    page = app("app_pages/tickets.py")
    table = page.html[0].proto.body
    assert table.index("app-breached") < table.index("app-healthy")

    page.multiselect(key="tickets_state").select("breached").run()

    filtered = page.html[0].proto.body
    assert "app-breached" in filtered
    assert "app-healthy" not in filtered


def test_the_ticket_page_shows_clocks_timeline_and_events(seeded: str, dashboard_env: str) -> None:
    page = app("app_pages/ticket.py", id="app-breached")

    text = " ".join(markdown.value for markdown in page.markdown)
    assert "app-breached" in text
    assert "Response clock" in text
    assert "breached" in text
    assert "event-breach" in page.html[0].proto.body
    assert not page.dataframe[0].value.empty


def test_the_config_page_shows_targets_and_version(seeded: str, dashboard_env: str) -> None:
    page = app("app_pages/config.py")

    assert "Version **1**" in " ".join(markdown.value for markdown in page.markdown)
    assert len(page.dataframe[0].value) == 4
    assert not page.error


def test_the_sidebar_form_creates_a_ticket_and_shows_field_errors(seeded: str, dashboard_env: str) -> None:
    page = app()
    page.text_input(key="form_id").input("app-form")
    page.text_input(key="form_created").input(rfc3339(datetime.now(UTC)))
    page.button[0].click().run()
    assert any("app-form: created" in success.value for success in page.sidebar.success), (
        [s.value for s in page.success],
        [e.value for e in page.error],
    )
    assert admin_api.get(f"{seeded}/tickets/app-form", timeout=10).status_code == 200

    page.text_input(key="form_id").input("app-form-bad")
    page.text_input(key="form_created").input("2026-11-27T09:00:00")
    page.button[0].click().run()
    assert any("no offset" in error.value for error in page.sidebar.error)


def test_every_page_shows_a_banner_not_a_stack_trace_while_the_api_is_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLA_API_URL", "http://127.0.0.1:9")
    for page in (None, "app_pages/alerts.py", "app_pages/tickets.py", "app_pages/config.py"):
        test = app(page) if page else app()
        assert not test.exception
        assert any("not reachable" in error.value for error in test.error)


def test_a_snapshot_is_committed_before_its_success_is_answered(live_api: str) -> None:
    session = requests.Session()
    session.headers.update(ADMIN_HEADERS)
    now = datetime.now(UTC)
    for n in range(40):
        ticket_id = f"read-own-write-{n}"
        assert session.post(f"{live_api}/tickets", json=snapshot_json(ticket_id, created_at=now), timeout=10).ok
        assert admin_api.get(f"{live_api}/tickets/{ticket_id}", timeout=10).status_code == 200


def test_a_breach_recorded_while_the_page_is_open_announces_itself(seeded: str, dashboard_env: str) -> None:
    page = app()
    assert not page.toast
    created = datetime.now(UTC) - timedelta(hours=1)
    assert admin_api.post(f"{seeded}/tickets", json=[snapshot_json("app-toast", created_at=created)], timeout=10).ok
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while not any(e["ticket_id"] == "app-toast" for e in admin_api.get(f"{seeded}/alerts", timeout=10).json()["items"]):
        assert datetime.now(UTC) < deadline, "the evaluator did not record the breach"

    page.run()

    assert [toast.value for toast in page.toast] == [
        "**Breach**: app-toast (high / gold), response clock",
    ]
