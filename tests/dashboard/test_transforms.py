"""Pure shaping of API data for the dashboard."""

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import transforms

NOW = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


def clock(**fields: Any) -> dict[str, Any]:
    base = {
        "target_seconds": 3600,
        "elapsed_seconds": 600,
        "remaining_seconds": 3000,
        "due_at": "2026-12-04T16:50:00Z",
        "alert_at": "2026-12-04T16:41:00Z",
        "state": "running",
        "calendar": "24x7",
        "counting": True,
        "counts_again_at": None,
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45.9, "45s"), (125, "2m 05s"), (3 * 3600 + 300, "3h 05m"), (-750, "-12m 30s"), (90_000, "1d 01h")],
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert transforms.format_duration(seconds) == text


@pytest.mark.parametrize(
    ("fields", "text", "tone"),
    [
        ({"remaining_seconds": 7800}, "2h 10m left", "green"),
        ({"remaining_seconds": 300, "alert_at": "2026-12-04T15:59:00Z"}, "5m 00s left", "amber"),
        ({"state": "breached", "remaining_seconds": -12_000}, "overdue by 3h 20m", "red"),
        ({"state": "breached", "remaining_seconds": -600, "counting": False}, "breached by 10m 00s", "red"),
        ({"state": "met"}, "met", "grey"),
        ({"state": "paused", "counting": False}, "paused", "grey"),
        (
            {"counting": False, "counts_again_at": "2026-12-07T08:00:00Z", "calendar": "berlin"},
            "outside business hours (counts again Mon 09:00)",
            "blue",
        ),
    ],
)
def test_each_clock_reads_in_words_and_a_tone(fields: dict[str, Any], text: str, tone: str) -> None:
    badge = transforms.clock_badge(clock(**fields), now=NOW, timezones={"berlin": "Europe/Berlin"})

    assert (badge.text, badge.tone) == (text, tone)


def test_a_running_clock_says_its_due_instant_on_hover() -> None:
    badge = transforms.clock_badge(clock(), now=NOW)

    assert badge.hover == "50m 00s left, due 2026-12-04 16:50:00 UTC"
    assert 'title="50m 00s left, due 2026-12-04 16:50:00 UTC"' in transforms.badge_html(badge)


def test_a_badge_carries_its_meaning_in_words_not_colour_alone() -> None:
    for state in transforms.SLA_STATES:
        assert transforms.state_badge(state).text.replace(" ", "").isalpha()


def test_the_next_clock_is_a_breached_one_then_the_nearest_not_met() -> None:
    ticket = {"clocks": {"response": clock(state="met"), "resolution": clock(remaining_seconds=50)}}
    assert transforms.next_clock(ticket) == "resolution"
    ticket["clocks"]["response"] = clock(state="breached", remaining_seconds=-5)
    assert transforms.next_clock(ticket) == "response"


def test_priorities_rank_by_their_tightest_response_target() -> None:
    targets = {"low": {"silver": {"response": 7200}}, "high": {"silver": {"response": 1800}, "gold": {"response": 900}}}

    assert transforms.priority_ranks(targets) == {"high": 0, "low": 1}


ticket_rows = st.lists(
    st.fixed_dictionaries(
        {
            "priority": st.sampled_from(["low", "high", "urgent"]),
            "created_at": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        }
    ),
    max_size=30,
)


@given(ticket_rows, st.sampled_from(transforms.SORTS))
def test_sorting_keeps_every_ticket_and_the_api_order_among_equals(tickets: list[dict[str, Any]], by: str) -> None:
    ranks = {"high": 0, "low": 1}

    ordered = transforms.sort_tickets(tickets, by, ranks)

    assert sorted(map(id, ordered)) == sorted(map(id, tickets))
    if by == "priority":
        keys = [ranks.get(t["priority"], 2) for t in ordered]
        assert keys == sorted(keys)
        for rank in set(keys):
            same = [t for t in tickets if ranks.get(t["priority"], 2) == rank]
            assert [t for t in ordered if ranks.get(t["priority"], 2) == rank] == same
    if by == "age":
        assert [t["created_at"] for t in ordered] == sorted(t["created_at"] for t in tickets)


def test_tiles_are_coloured_by_meaning_and_link_to_the_filtered_list() -> None:
    summary = {
        "open_tickets": 9,
        "by_state": {"ok": 5, "at_risk": 0, "breached": 4},
        "compliance": {
            "response": {"compliance": 0.5, "met": 1, "breached": 1},
            "resolution": {"compliance": None, "met": 0, "breached": 0},
        },
    }

    tiles = {tile.label: tile for tile in transforms.overview_tiles(summary)}

    assert (tiles["Breached"].tone, tiles["Breached"].link) == ("red", "tickets?state=breached")
    assert tiles["At risk"].tone == "green"
    assert (tiles["Response compliance"].value, tiles["Response compliance"].tone) == ("50.0 %", "red")
    assert tiles["Resolution compliance"].tone == "grey"
    assert 'href="tickets?state=breached"' in transforms.tiles_html(list(tiles.values()))


def test_the_segment_table_speaks_in_words_and_percent() -> None:
    summary = {
        "by_priority_tier": [
            {"priority": "high", "customer_tier": "gold", "open": 7, "ok": 5, "at_risk": 1, "breached": 1,
             "response_compliance": 1 / 7, "resolution_compliance": None},
        ]
    }  # fmt: skip

    (row,) = transforms.segment_rows(summary)

    assert row["Response compliance"] == "14.3 %"
    assert row["Resolution compliance"] == "-"
    assert "customer_tier" not in row


def test_event_buckets_are_labelled_by_hour_or_day() -> None:
    summary = {"bucket": "day", "events_by_due": [{"start": "2026-12-01T00:00:00Z", "alerts": 2, "breaches": 1}]}

    rows = transforms.event_chart_rows(summary)

    assert [(row["label"], row["kind"], row["events"]) for row in rows] == [
        ("Dec 01", "alert", 2),
        ("Dec 01", "breach", 1),
    ]


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


def test_csv_rows_are_named_by_the_files_line_numbers() -> None:
    text = b'id,priority,status\nA,low,open\n"B\nwith a newline",high,open\nC,low,open\n'

    upload = transforms.parse_upload("batch.csv", text)

    assert [s["id"] for s in upload.snapshots] == ["A", "B\nwith a newline", "C"]
    assert upload.places == ["line 2", "line 3", "line 5"]


@given(st.lists(st.sampled_from(["low", "high", ""]), min_size=1, max_size=20))
def test_csv_line_numbers_follow_the_rows(priorities: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "priority"])
    writer.writerows([[f"T{n}", priority] for n, priority in enumerate(priorities)])

    upload = transforms.parse_upload("x.csv", buffer.getvalue().encode())

    assert upload.places == [f"line {n + 2}" for n in range(len(priorities))]


def test_json_elements_are_named_by_the_line_where_each_starts() -> None:
    items = [{"id": "A", "status": "open"}, {"id": "B", "status": "open"}]

    pretty = transforms.parse_upload("b.json", json.dumps(items, indent=2).encode())
    one_line = transforms.parse_upload("b.json", json.dumps(items).encode())
    single = transforms.parse_upload("one.json", b'{"id": "B", "status": "open"}')

    assert pretty.places == ["line 2", "line 6"]
    assert one_line.places == ["item 1", "item 2"]
    assert single.snapshots == [{"id": "B", "status": "open"}]
    assert single.places == ["line 1"]


def test_unreadable_uploads_say_why() -> None:
    with pytest.raises(transforms.UploadError, match="not valid JSON"):
        transforms.parse_upload("bad.json", b"[{")
    with pytest.raises(transforms.UploadError, match="header row"):
        transforms.parse_upload("bad.csv", b"a;b\n1;2\n")
    with pytest.raises(transforms.UploadError, match="UTF-8"):
        transforms.parse_upload("bad.csv", b"\xff\xfe\x00")


def test_upload_problems_name_the_line_and_field_in_the_forms_words() -> None:
    detail = [
        {
            "loc": ["body", 1, "priority"],
            "msg": "unknown priority 'urgent'; the SLA config names low, high",
            "type": "value_error",
        },
        {"loc": ["body", 0, "created_at"], "msg": "'x' has no offset: add Z", "type": "value_error"},
    ]

    rows = transforms.upload_problems(detail, ["line 2", "line 3"])

    assert rows[0] == {
        "where": "line 3",
        "field": "Priority",
        "problem": "Pick one of low, high; the SLA config may have changed meanwhile.",
    }
    assert rows[1]["where"] == "line 2"
    assert rows[1]["problem"].startswith("Add a time zone")


def test_validation_problems_are_grouped_by_field_in_the_forms_words() -> None:
    detail = [
        {"loc": ["body", 0, "id"], "msg": "String should have at least 1 character", "type": "string_too_short"},
        {"loc": ["body", 0, "updated_at"], "msg": "updated_at must not be before created_at", "type": "value_error"},
        {"loc": ["body"], "msg": "empty", "type": "too_short"},
    ]

    assert transforms.field_errors(detail) == {
        "id": ["Enter a ticket id."],
        "updated_at": ["Updated at cannot be earlier than Created at."],
        "": ["Empty"],
    }


def test_outcomes_sit_beside_their_place_in_the_file() -> None:
    rows = transforms.outcome_rows([{"id": "A", "outcome": "created"}], ["line 2"])

    assert rows == [{"where": "line 2", "ticket": "A", "outcome": "created"}]


def test_the_timeline_merges_snapshots_with_their_source_and_events_in_order() -> None:
    detail = {
        "history": [
            {"updated_at": "2026-11-27T09:00:00Z", "status": "open", "source": "zendesk"},
            {"updated_at": "2026-11-27T09:30:00Z", "status": "in_progress", "source": None},
        ],
        "events": [
            {
                "due_at": "2026-11-27T09:12:45Z",
                "detected_at": "2026-11-27T09:12:45Z",
                "kind": "alert",
                "clock": "response",
            }
        ],
    }

    entries = transforms.timeline(detail)

    assert [(row["detail"], row["source"]) for row in entries] == [
        ("open", "zendesk"),
        ("response clock", "detected 2026-11-27 09:12:45"),
        ("open -> in_progress", "unknown"),
    ]
    assert 'class="entry entry-alert"' in transforms.timeline_table(entries)


def test_the_config_tables_name_each_targets_calendar() -> None:
    document = {
        "calendar": "24x7",
        "targets": {"high": {"gold": {"response": 3600, "resolution": 28800, "calendar": "berlin"}}},
        "calendars": {
            "berlin": {
                "timezone": "Europe/Berlin",
                "hours": {"mon-fri": ["09:00-17:00"]},
                "holidays": {"country": "DE"},
            }
        },
    }

    assert transforms.target_rows(document)[0]["Calendar"] == "berlin"
    assert transforms.calendar_rows(document) == [
        {
            "Calendar": "berlin",
            "Time zone": "Europe/Berlin",
            "Open": "mon-fri 09:00-17:00",
            "Holidays": "public holidays of DE",
        }
    ]
    assert transforms.calendar_timezones(document) == {"berlin": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("value", "chosen"), [(None, []), ("breached", ["breached"]), ("ok,at_risk", ["ok", "at_risk"]), ("bogus", [])]
)
def test_query_parameters_pick_known_values_only(value: str | None, chosen: list[str]) -> None:
    assert transforms.query_choice(value, transforms.SLA_STATES) == chosen
    assert transforms.query_choice("all", transforms.STATUSES) == list(transforms.STATUSES)
