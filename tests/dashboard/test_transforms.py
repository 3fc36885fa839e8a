"""Pure shaping of API data for the dashboard."""

import pytest

from dashboard import transforms


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45.9, "45s"), (125, "2m 05s"), (3 * 3600 + 300, "3h 05m"), (-750, "-12m 30s"), (90_000, "1d 01h")],
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert transforms.format_duration(seconds) == text


def test_clock_colors_follow_the_state() -> None:
    base = {"target_seconds": 900, "alert_at": "2999-01-01T00:00:00Z"}

    assert transforms.clock_color({**base, "state": "running"}) == "#188038"
    assert transforms.clock_color({**base, "state": "running", "alert_at": "2000-01-01T00:00:00Z"}) == "#f29900"
    assert transforms.clock_color({**base, "state": "breached"}) == "#d93025"
    assert transforms.clock_color({**base, "state": "met"}) == transforms.clock_color({**base, "state": "paused"})


def test_events_are_amber_for_alerts_and_red_for_breaches_and_link_to_their_ticket() -> None:
    event = {
        "ticket_id": "acme/1",
        "clock": "response",
        "priority": "high",
        "customer_tier": "gold",
        "due_at": "2026-11-27T09:15:00Z",
        "detected_at": "2026-11-27T09:15:00.2Z",
    }

    table = transforms.events_table([{**event, "kind": "alert"}, {**event, "kind": "breach"}])

    assert 'class="event event-alert"' in table
    assert "background:#fef0d9" in table
    assert "background:#fce8e6" in table
    assert 'href="ticket?id=acme%2F1"' in table


def test_csv_and_json_uploads_become_snapshots() -> None:
    csv_text = b"id,priority,customer_tier,created_at,updated_at,status,first_response_at\nA,low,gold,t1,t2,open,\n"
    json_text = b'{"id": "B", "status": "open"}'

    assert transforms.parse_upload("batch.csv", csv_text) == [
        {
            "id": "A",
            "priority": "low",
            "customer_tier": "gold",
            "created_at": "t1",
            "updated_at": "t2",
            "status": "open",
        }
    ]
    assert transforms.parse_upload("one.json", json_text) == [{"id": "B", "status": "open"}]
    with pytest.raises(transforms.UploadError, match="not valid JSON"):
        transforms.parse_upload("bad.json", b"[{")
    with pytest.raises(transforms.UploadError, match="header row"):
        transforms.parse_upload("bad.csv", b"a;b\n1;2\n")


def test_validation_problems_are_grouped_by_field() -> None:
    detail = [
        {"loc": ["body", 0, "priority"], "msg": "unknown priority"},
        {"loc": ["body", 0, "created_at"], "msg": "no offset"},
        {"loc": ["body"], "msg": "empty"},
    ]

    assert transforms.field_errors(detail) == {
        "priority": ["unknown priority"],
        "created_at": ["no offset"],
        "": ["empty"],
    }


def test_the_timeline_merges_status_changes_and_events_in_order() -> None:
    detail = {
        "history": [
            {"updated_at": "2026-11-27T09:00:00Z", "status": "open"},
            {"updated_at": "2026-11-27T09:30:00Z", "status": "in_progress"},
        ],
        "events": [{"due_at": "2026-11-27T09:12:45Z", "kind": "alert", "clock": "response"}],
    }

    assert [row["detail"] for row in transforms.timeline(detail)] == ["open", "response clock", "open -> in_progress"]
