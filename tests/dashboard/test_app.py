"""Every page of the dashboard through Streamlit's AppTest, against the real API on a real database."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import ButtonGroup

from api.kit.timestamps import rfc3339
from dashboard import ui
from tests.builders import snapshot_json
from tests.conftest import ADMIN_HEADERS, ROOT, SEED_CONFIG

# The API as the tests reach it directly, with the admin key.
admin_api = requests.Session()
admin_api.headers.update(ADMIN_HEADERS)

APP = str(ROOT / "dashboard" / "streamlit_app.py")
NOBODY = "http://127.0.0.1:9"


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


def html_of(test: AppTest) -> str:
    return " ".join(element.proto.body for element in test.html)


def banners(test: AppTest) -> list[str]:
    return [error.value for error in test.error if "not reachable" in error.value]


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


def test_the_overview_tiles_match_the_summary_and_link_to_their_tickets(seeded: str, dashboard_env: str) -> None:
    summary = admin_api.get(f"{seeded}/dashboard/summary", timeout=10).json()

    tiles = html_of(app())

    breached = summary["by_state"]["breached"]
    assert 'href="tickets?state=breached" target="_self" data-label="Breached"' in tiles
    assert f'<div class="tile-value" style="font-size:30px;font-weight:700">{breached:,}</div>' in tiles
    assert 'class="tile tone-red"' in tiles
    assert 'href="tickets?state=at_risk"' in tiles
    assert f"{summary['compliance']['response']['compliance'] * 100:.1f} %" in tiles


def test_the_overview_queues_the_next_to_breach_and_charts_by_due_instant(seeded: str, dashboard_env: str) -> None:
    page = app()

    queue = html_of(page)
    assert 'class="queued" data-id="app-healthy"' in queue
    assert 'data-id="app-breached"' not in queue.split('class="queue"')[1]
    assert "left</span>" in queue
    charts = [chart.proto.spec.replace(" ", "") for chart in page.get("vega_lite_chart")]
    assert len(charts) == 3
    assert '"field":"label"' in charts[0]
    assert all('"domain":[0,100]' in chart for chart in charts[1:]), "compliance is drawn on 0-100 %"
    table = page.dataframe[0].value
    assert list(table.columns)[:3] == ["Priority", "Customer tier", "Open"]
    assert table["Response compliance"].str.endswith("%").any()


def test_the_overview_switches_to_seven_days_by_the_day(seeded: str, dashboard_env: str) -> None:
    page = app()
    control = page.get("button_group")[0]
    assert isinstance(control, ButtonGroup)
    control.set_value("7d").run()

    assert not page.exception
    assert any("last 7 days" in header.value for header in page.subheader)


def test_the_alerts_page_lists_breaches_in_red_and_alerts_in_amber(seeded: str, dashboard_env: str) -> None:
    table = html_of(app("app_pages/alerts.py"))

    assert "app-breached" in table
    assert "event-breach" in table
    assert "event-alert" in table


def test_the_alerts_page_filters_by_kind_from_the_query(seeded: str, dashboard_env: str) -> None:
    table = html_of(app("app_pages/alerts.py", kind="breach"))

    assert "event-breach" in table
    assert "event-alert" not in table


def test_the_tickets_page_lists_open_tickets_nearest_deadline_first(seeded: str, dashboard_env: str) -> None:
    table = html_of(app("app_pages/tickets.py"))

    assert table.index("app-breached") < table.index("app-healthy")
    assert "app-done" not in table
    assert "overdue by" in table
    assert "left</span>" in table
    assert "title=" in table


def test_the_tickets_page_shows_finished_ones_behind_a_filter(seeded: str, dashboard_env: str) -> None:
    assert "app-done" in html_of(app("app_pages/tickets.py", status="all"))


def test_the_tickets_page_filters_by_state_from_the_query_and_sorts_by_priority(
    seeded: str, dashboard_env: str
) -> None:
    page = app("app_pages/tickets.py", state="breached")
    assert "app-healthy" not in html_of(page)
    assert "app-breached" in html_of(page)

    page.multiselect(key="tickets_state").set_value([]).run()
    page.selectbox(key="tickets_sort").select("priority").run()

    table = html_of(page)
    assert table.index("app-breached") < table.index("app-healthy")  # high before low
    page.selectbox(key="tickets_sort").select("age").run()
    table = html_of(page)
    assert table.index("app-breached") < table.index("app-healthy")  # older first


def test_the_ticket_page_shows_clocks_and_one_timeline_with_sources(seeded: str, dashboard_env: str) -> None:
    page = app("app_pages/ticket.py", id="app-breached")

    body = html_of(page)
    assert "app-breached" in body
    assert "overdue by" in body
    assert 'class="entry entry-breach"' in body
    assert 'class="entry entry-snapshot"' in body
    assert ">admin</td>" in body
    text = " ".join(markdown.value for markdown in page.markdown)
    assert "Response clock" in text
    assert "calendar `24x7`" in text


def test_the_config_page_shows_targets_and_version(seeded: str, dashboard_env: str) -> None:
    page = app("app_pages/config.py")

    assert "Version **1**" in " ".join(markdown.value for markdown in page.markdown)
    targets = page.dataframe[0].value
    assert len(targets) == 4
    assert set(targets["Calendar"]) == {"24x7"}
    assert not page.error


def wait_for_reload_error(api: str, *, present: bool) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while (admin_api.get(f"{api}/config", timeout=10).json()["last_error"] is not None) != present:
        assert datetime.now(UTC) < deadline, "the reload was not seen"


def test_a_refused_reload_is_shown_in_red_on_the_config_page_and_the_overview(seeded: str, dashboard_env: str) -> None:
    path = Path(admin_api.get(f"{seeded}/config", timeout=10).json()["path"])
    path.write_text("low: {silver: {response: -5, resolution: 1}}\n")
    try:
        wait_for_reload_error(seeded, present=True)
        ui.config_in_force.clear()  # the pages share GET /config for a few seconds

        config_page = app("app_pages/config.py")
        overview = app()

        assert any("was refused" in error.value for error in config_page.error)
        assert "Version **1**" in " ".join(markdown.value for markdown in config_page.markdown)
        assert any("was refused" in error.value for error in overview.error)
    finally:
        path.write_text(SEED_CONFIG)
        wait_for_reload_error(seeded, present=False)


def test_the_config_preview_says_what_a_candidate_would_change(seeded: str, dashboard_env: str) -> None:
    page = app("app_pages/config.py")
    shorter = SEED_CONFIG.replace("response: 7200", "response: 60")
    page.text_area(key="preview_yaml").input(shorter)
    page.button[0].click().run()

    assert any("would accept" in success.value for success in page.success)
    figures = {metric.label: metric.value for metric in page.metric}
    assert int(figures["deadlines moved"]) >= 1

    page.text_area(key="preview_yaml").input("low: {silver: {response: -5, resolution: 1}}")
    page.button[0].click().run()
    assert any("would refuse" in error.value for error in page.error)


def test_the_sidebar_form_creates_a_ticket(seeded: str, dashboard_env: str) -> None:
    page = app()
    page.text_input(key="form_id").input("app-form")
    page.text_input(key="form_created").input(rfc3339(datetime.now(UTC)))
    page.button[0].click().run()

    assert any("app-form: created" in success.value for success in page.sidebar.success)
    assert admin_api.get(f"{seeded}/tickets/app-form", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("ticket_id", "created", "updated", "message"),
    [
        ("", "2026-11-27T09:00:00Z", "", "Enter a ticket id."),
        ("app-bad", "2026-11-27T09:00:00", "", "Add a time zone"),
        ("app-bad", "yesterday", "", "Write a date and time such as"),
        ("app-bad", "2026-11-27T09:00:00Z", "2026-11-27T08:00:00Z", "Updated at cannot be earlier than Created at."),
    ],
)
def test_the_sidebar_form_says_what_is_wrong_in_its_own_words(
    seeded: str, dashboard_env: str, ticket_id: str, created: str, updated: str, message: str
) -> None:
    page = app()
    page.text_input(key="form_id").input(ticket_id)
    page.text_input(key="form_created").input(created)
    page.text_input(key="form_updated").input(updated)
    page.button[0].click().run()

    errors = [error.value for error in page.sidebar.error]
    assert any(message in error for error in errors), errors
    assert not any("String should" in error or "must not be before" in error for error in errors), errors


@pytest.mark.parametrize("page", [None, "app_pages/alerts.py", "app_pages/tickets.py", "app_pages/config.py"])
def test_every_page_shows_one_banner_not_a_stack_trace_while_the_api_is_down(
    page: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLA_API_URL", NOBODY)

    test = app(page)

    assert len(banners(test)) == 1
    assert banners(test)[0].startswith("**The API is not reachable.**")


def test_the_last_data_stays_marked_stale_while_the_api_is_down_and_the_form_returns_after(
    seeded: str, dashboard_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = app("app_pages/tickets.py")
    assert "app-breached" in html_of(page)

    monkeypatch.setenv("SLA_API_URL", NOBODY)
    page.run()
    assert len(banners(page)) == 1
    assert "app-breached" in html_of(page)
    assert any("stale" in caption.value for caption in page.caption)

    monkeypatch.setenv("SLA_API_URL", seeded)
    page.run()
    assert not banners(page)
    assert not any("stale" in caption.value for caption in page.caption)
    assert page.sidebar.selectbox(key="form_priority").options


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
