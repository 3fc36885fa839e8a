"""Clocks that count business hours: SPEC's worked examples, other trackers' bugs, and a brute-force law.

Deadlines are checked through the whole path a ticket takes: planning from its history under a
config with calendars, and (for the worked examples) the API's own answer.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.sla import planning
from api.sla.planning import Snapshot
from api.sla_config.loader import parse_text
from api.sla_config.schema import SlaConfig

BERLIN = ZoneInfo("Europe/Berlin")


def config(hours: str, *, timezone: str = "Europe/Berlin", holidays_block: str = "", response: str = "2h") -> SlaConfig:
    return parse_text(
        f"""
calendars:
  office:
    timezone: {timezone}
    hours: {hours}
{holidays_block}
calendar: office
high:
  gold: {{response: {response}, resolution: 8h}}
"""
    ).config


WEEKDAYS = '{mon-fri: "09:00-17:00"}'


def history(*steps: tuple[datetime, str], created: datetime | None = None) -> list[Snapshot]:
    start = created or steps[0][0]
    return [
        Snapshot("T", at.astimezone(UTC), "high", "gold", start.astimezone(UTC), status, None) for at, status in steps
    ]


def clocks(snapshots: list[Snapshot], rules: SlaConfig) -> dict[str, object]:
    return planning.plan_clocks(snapshots[-1], snapshots, rules)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_two_hours_from_friday_at_four_are_due_monday_at_ten_with_the_alert_at_nine_forty_two() -> None:
    planned = clocks(history((local(2026, 12, 4, 16), "open")), config(WEEKDAYS))
    assert planned["response_due_at"] == local(2026, 12, 7, 10)
    assert planned["response_alert_at"] == local(2026, 12, 7, 9, 42)


def test_eight_hours_from_christmas_eve_skip_the_german_holidays() -> None:
    rules = config(WEEKDAYS, holidays_block="    holidays: {country: DE}", response="8h")
    planned = clocks(history((local(2026, 12, 24, 16, 30), "open")), rules)
    assert planned["response_due_at"] == local(2026, 12, 28, 16, 30)


def test_a_deadline_across_the_spring_change_keeps_local_hours() -> None:
    planned = clocks(history((local(2027, 3, 26, 16), "open")), config(WEEKDAYS))
    assert planned["response_due_at"] == local(2027, 3, 29, 10)
    assert planned["response_due_at"] == datetime(2027, 3, 29, 8, tzinfo=UTC)


def test_the_api_gives_the_worked_example_with_its_calendar_and_whether_it_counts(
    client: object, config_path: object, frozen_clock: object
) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import FrozenClock

    assert isinstance(client, TestClient)
    assert isinstance(frozen_clock, FrozenClock)
    store = client.app.state.config_store  # type: ignore[attr-defined]
    store.path.write_text(
        f"calendars:\n  office:\n    timezone: Europe/Berlin\n    hours: {WEEKDAYS}\n"
        "high:\n  gold: {response: 2h, resolution: 8h, calendar: office}\n  silver: {response: 2h, resolution: 8h}\n"
        "low:\n  gold: {response: 2h, resolution: 8h}\n  silver: {response: 2h, resolution: 8h}\n"
    )
    assert store.reload()
    friday = local(2026, 12, 4, 16).astimezone(UTC)
    frozen_clock.set(friday + timedelta(hours=2))
    body = {
        "id": "BH-1",
        "priority": "high",
        "customer_tier": "gold",
        "created_at": friday.isoformat(),
        "updated_at": friday.isoformat(),
        "status": "open",
    }
    assert client.post("/tickets", json=[body]).status_code == 200

    response = client.get("/tickets/BH-1").json()["clocks"]["response"]

    assert response["due_at"] == "2026-12-07T09:00:00Z"
    assert response["alert_at"] == "2026-12-07T08:42:00Z"
    assert (response["calendar"], response["counting"]) == ("office", False)
    assert response["counts_again_at"] == "2026-12-07T08:00:00Z"
    assert response["elapsed_seconds"] == 3600
    assert response["remaining_seconds"] == 3600


def test_a_schedule_without_monday_skips_to_tuesday() -> None:
    planned = clocks(history((local(2026, 12, 4, 16), "open")), config('{tue-fri: "09:00-17:00"}'))
    assert planned["response_due_at"] == local(2026, 12, 8, 10)


def test_a_lunch_break_does_not_count() -> None:
    rules = config('{mon-fri: ["09:00-12:30", "13:30-18:00"]}', response="1h")
    planned = clocks(history((local(2026, 12, 1, 12), "open")), rules)
    assert planned["response_due_at"] == local(2026, 12, 1, 14)


def test_pending_over_a_weekend_counts_only_the_business_hours_it_ran() -> None:
    steps = (
        (local(2026, 12, 4, 16), "open"),
        (local(2026, 12, 4, 16, 30), "pending"),
        (local(2026, 12, 7, 10), "in_progress"),
    )
    planned = clocks(history(*steps), config(WEEKDAYS))
    assert planned["resolution_elapsed_us"] == 30 * 60 * 10**6
    assert planned["resolution_due_at"] == local(2026, 12, 8, 9, 30)


def test_a_clock_paused_just_as_its_target_is_reached_is_due_at_the_pause() -> None:
    steps = (
        (local(2026, 12, 7, 9), "open"),
        (local(2026, 12, 7, 17), "pending"),
        (local(2026, 12, 8, 10), "in_progress"),
    )
    planned = clocks(history(*steps), config(WEEKDAYS))
    assert planned["resolution_due_at"] == local(2026, 12, 7, 17)


def test_a_ticket_created_at_one_minute_to_midnight_on_friday_starts_counting_on_monday() -> None:
    planned = clocks(history((local(2026, 12, 4, 23, 59), "open")), config(WEEKDAYS, response="1h"))
    assert planned["response_due_at"] == local(2026, 12, 7, 10)


@pytest.mark.parametrize(
    ("created", "due"),
    [
        (local(2026, 3, 28, 12), local(2026, 3, 29, 13)),
        (local(2026, 10, 24, 12), local(2026, 10, 25, 11)),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_a_day_of_an_always_open_local_calendar_across_a_dst_night_is_24_real_hours(
    created: datetime, due: datetime
) -> None:
    rules = config('{mon-sun: "00:00-24:00"}', response="24h")
    assert clocks(history((created, "open")), rules)["response_due_at"] == due


def test_the_autumn_change_keeps_nine_oclock_at_nine_oclock() -> None:
    planned = clocks(history((local(2026, 10, 23, 16), "open")), config(WEEKDAYS))
    assert planned["response_due_at"] == local(2026, 10, 26, 10)
    assert planned["response_due_at"] == datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_a_night_shift_across_the_spring_gap_counts_the_hour_that_exists() -> None:
    rules = config('{mon-sun: ["00:00-06:00"]}', response="5h")
    planned = clocks(history((local(2026, 3, 29, 0), "open")), rules)
    assert planned["response_due_at"] == local(2026, 3, 29, 6)


def test_alerts_never_fall_due_at_midnight_or_at_the_weekend() -> None:
    rules = config(WEEKDAYS, response="3h")
    for hour in range(0, 24):
        planned = clocks(history((local(2026, 12, 4, hour), "open")), rules)
        for name in ("response_alert_at", "response_due_at"):
            due = planned[name]
            assert isinstance(due, datetime)
            instant = due.astimezone(BERLIN)
            assert instant.weekday() < 5
            assert 9 <= instant.hour < 17 or (instant.hour, instant.minute) == (17, 0)


# The brute-force reference: step through time a minute at a time; a minute counts when the
# ticket's status runs its clock and the calendar is open, read from local wall-clock hours.

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@st.composite
def calendars(draw: st.DrawFn) -> tuple[str, dict[int, list[tuple[int, int]]], set[date], str]:
    zone = draw(st.sampled_from(ZONES))
    hours: dict[int, list[tuple[int, int]]] = {}
    for day in range(7):
        if draw(st.booleans()):
            start = draw(st.integers(0, 20)) * 60
            first = (start, start + draw(st.integers(1, 4)) * 60)
            ranges = [first]
            if first[1] <= 1320 and draw(st.booleans()):
                second_start = first[1] + draw(st.integers(0, 1)) * 30 + 30
                ranges.append((second_start, min(1440, second_start + draw(st.integers(1, 3)) * 60)))
            hours[day] = ranges
    if not hours:
        hours[draw(st.integers(0, 6))] = [(540, 1020)]
    closed = set(draw(st.lists(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=5)))
    listed = {
        DAYS[day]: [f"{s // 60:02}:{s % 60:02}-{e // 60:02}:{e % 60:02}" for s, e in ranges]
        for day, ranges in hours.items()
    }
    dates = [day.isoformat() for day in sorted(closed)]
    text = f"timezone: {zone}\n    hours: {listed}\n    holidays: {{dates: {dates}}}".replace("'", '"')
    return zone, hours, closed, text


def reference_open(
    instant: datetime, zone: ZoneInfo, hours: dict[int, list[tuple[int, int]]], closed: set[date]
) -> bool:
    moment = instant.astimezone(zone)
    if moment.date() in closed:
        return False
    minute = moment.hour * 60 + moment.minute
    return any(start <= minute < end for start, end in hours.get(moment.weekday(), []))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    calendar=calendars(),
    start=st.datetimes(datetime(2026, 3, 20), datetime(2026, 11, 10)),
    pauses=st.lists(st.tuples(st.integers(1, 4000), st.integers(1, 3000)), max_size=2),
    target_minutes=st.integers(1, 2400),
)
def test_deadlines_with_pauses_equal_a_minute_by_minute_reference(
    calendar: tuple[str, dict[int, list[tuple[int, int]]], set[date], str],
    start: datetime,
    pauses: list[tuple[int, int]],
    target_minutes: int,
) -> None:
    zone_name, hours, closed, text = calendar
    weekly = sum(end - start for ranges in hours.values() for start, end in ranges)
    assume(weekly * 8 > target_minutes)  # the reference steps through at most 120 days
    zone = ZoneInfo(zone_name)
    rules = parse_text(
        f"calendars:\n  office:\n    {text}\ncalendar: office\n"
        f"high:\n  gold: {{response: {target_minutes * 60}, resolution: {target_minutes * 60}}}\n"
    ).config
    created = start.replace(second=0, microsecond=0, tzinfo=UTC)
    steps: list[tuple[datetime, str]] = [(created, "open")]
    at = created
    for offset, length in pauses:
        at += timedelta(minutes=offset)
        steps.append((at, "pending"))
        at += timedelta(minutes=length)
        steps.append((at, "in_progress"))
    planned = clocks(history(*steps, created=created), rules)

    running_until = [(steps[i][0], steps[i + 1][0] if i + 1 < len(steps) else None) for i in range(0, len(steps), 2)]
    counted = 0
    minute = created
    due = None
    while due is None:
        running = any(begin <= minute and (end is None or minute < end) for begin, end in running_until)
        if running and reference_open(minute, zone, hours, closed):
            counted += 1
            if counted == target_minutes:
                due = minute + timedelta(minutes=1)
        minute += timedelta(minutes=1)
        assert minute < created + timedelta(days=120), "the reference ran out of time"
    assert planned["resolution_due_at"] == due


def test_the_reference_knows_the_holidays_the_package_knows() -> None:
    assert date(2026, 12, 25) in holidays.country_holidays("DE", years=2026)
