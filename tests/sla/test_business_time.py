"""Business time over calendars: the timeline against brute-force counts, SPEC's examples, and known traps."""

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import accumulate, pairwise
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from api.sla import business_time
from api.sla.business_time import TWENTY_FOUR_SEVEN, OutsideTimeline, Timeline, timeline_for
from api.sla_config.calendars import ALWAYS_OPEN, DAY_NAMES, Calendar, DayHours, format_range

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = {"mon-fri": "09:00-17:00"}
# The real country of each zone the property tests draw from, for its public holidays.
ZONES = {
    "Europe/Berlin": ("DE", None),
    "America/New_York": ("US", None),
    "Asia/Kolkata": ("IN", None),
    "Australia/Lord_Howe": ("AU", "NSW"),
}


def calendar(hours: dict[str, Any], timezone: str = "Europe/Berlin", **holiday_rules: Any) -> Calendar:
    """A calendar validated from the shape it has in the YAML file."""
    return Calendar.model_validate({"timezone": timezone, "hours": hours, "holidays": holiday_rules})


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """An instant given by its local wall-clock time (the first, where the time occurs twice)."""
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def due(timeline: Timeline, start: datetime, business: timedelta) -> datetime:
    """When `business` of counted time since `start` is reached."""
    return timeline.instant(timeline.position(start) + business // timedelta(microseconds=1))


def public_holidays(country: str | None, subdivision: str | None, years: Iterable[int]) -> set[date]:
    """A country's public holidays, straight from the `holidays` package."""
    if country is None:
        return set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return set(holidays.country_holidays(country, subdiv=subdivision, years=years))


@dataclass(frozen=True)
class MinuteByMinute:
    """The brute-force reference: each minute's UTC instant read as local time in the zone."""

    zone: ZoneInfo
    week: tuple[DayHours, ...]
    closed: frozenset[date]

    def is_open(self, epoch_second: int) -> bool:
        """Whether the minute starting at this second is open."""
        local = datetime.fromtimestamp(epoch_second, self.zone)
        minute = local.hour * 60 + local.minute
        return local.date() not in self.closed and any(
            start <= minute < end for start, end in self.week[local.weekday()]
        )

    def open_minutes(self, start: datetime, minutes: int) -> list[bool]:
        """Which of the minutes from `start` on are open."""
        first = int(start.timestamp())
        return [self.is_open(first + 60 * index) for index in range(minutes)]


@dataclass(frozen=True)
class Scenario:
    """A random calendar with its reference, and a span of whole minutes from `start`."""

    calendar: Calendar
    reference: MinuteByMinute
    start: datetime
    minutes: int


@cache
def offset_changes(zone_name: str) -> tuple[datetime, ...]:
    """The hours in 2024-2027 at which the zone's offset changes, found hour by hour."""
    zone, first = ZoneInfo(zone_name), datetime(2024, 1, 1, tzinfo=UTC)
    hours = [first + timedelta(hours=index) for index in range(4 * 366 * 24)]
    offsets = [hour.astimezone(zone).utcoffset() for hour in hours]
    return tuple(hours[index] for index in range(1, len(hours)) if offsets[index] != offsets[index - 1])


# Clocks move between 01:30 and 03:00 local time in these zones: boundaries there meet DST nights.
boundaries = st.one_of(st.integers(0, 1440), st.sampled_from([0, 60, 90, 120, 150, 180, 1440]))


@st.composite
def day_hours(draw: st.DrawFn) -> DayHours:
    """Up to three ranges of one day, neither touching nor overlapping; often none."""
    cuts = sorted(set(draw(st.lists(boundaries, max_size=6))))
    return tuple(zip(cuts[::2], cuts[1::2], strict=False))


@st.composite
def starts(draw: st.DrawFn, zone_name: str) -> datetime:
    """A whole minute in 2024-2027, often in the days around a change of offset."""
    changes = offset_changes(zone_name)
    if draw(st.booleans()) and changes:
        return draw(st.sampled_from(changes)) + timedelta(minutes=draw(st.integers(-3 * 1440, 1440)))
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 4 * 365 * 1440)))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A calendar in one of four zones, some of its days empty, with holidays, and a span of up to five weeks."""
    zone_name = draw(st.sampled_from(sorted(ZONES)))
    week = tuple(draw(day_hours()) for _ in DAY_NAMES)
    assume(sum(end - start for day in week for start, end in day) >= 120)
    start = draw(starts(zone_name))
    extra = draw(st.lists(st.integers(-3, 40).map(lambda days: start.date() + timedelta(days=days)), max_size=6))
    country, subdivision = ZONES[zone_name] if draw(st.booleans()) else (None, None)
    hours = {name: [format_range(minutes) for minutes in day] for name, day in zip(DAY_NAMES, week, strict=True)}
    rules = {"country": country, "subdivision": subdivision, "dates": [day.isoformat() for day in extra]}
    closed = public_holidays(country, subdivision, range(2023, 2029)) | set(extra)
    return Scenario(
        calendar=calendar(hours, zone_name, **rules),
        reference=MinuteByMinute(ZoneInfo(zone_name), week, frozenset(closed)),
        start=start,
        minutes=draw(st.integers(1, 5 * 7 * 1440)),
    )


@settings(max_examples=30, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_elapsed_business_time_matches_a_minute_by_minute_count(scenario: Scenario, data: st.DataObject) -> None:
    timeline = timeline_for(scenario.calendar)
    open_minutes = scenario.reference.open_minutes(scenario.start, scenario.minutes)
    cut = data.draw(st.integers(0, scenario.minutes), label="cut")

    end = scenario.start + timedelta(minutes=scenario.minutes)
    middle = scenario.start + timedelta(minutes=cut)

    assert timeline.elapsed(scenario.start, end) == sum(open_minutes) * MINUTE_US
    assert timeline.elapsed(scenario.start, middle) == sum(open_minutes[:cut]) * MINUTE_US
    assert timeline.is_open(scenario.start) == open_minutes[0]
    if True in open_minutes:
        assert timeline.next_opening(scenario.start) == scenario.start + timedelta(minutes=open_minutes.index(True))


@settings(max_examples=30, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_a_deadline_is_the_end_of_the_minute_in_which_the_count_reaches_the_target(
    scenario: Scenario, data: st.DataObject
) -> None:
    timeline = timeline_for(scenario.calendar)
    open_minutes = scenario.reference.open_minutes(scenario.start, scenario.minutes)
    counted = list(accumulate(map(int, open_minutes)))
    assume(counted[-1] > 0)
    # Targets that run out with an open stretch are where an off-by-one hides: draw them as often as others.
    at_closings = [
        count for index, count in enumerate(counted[:-1]) if open_minutes[index] and not open_minutes[index + 1]
    ]
    anywhere = st.integers(1, counted[-1])
    target = data.draw(st.sampled_from(at_closings) | anywhere if at_closings else anywhere, label="target minutes")

    reached_in = counted.index(target)

    expected = scenario.start + timedelta(minutes=reached_in + 1)
    assert timeline.instant(timeline.position(scenario.start) + target * MINUTE_US) == expected
    assert timeline.advance(scenario.start, target * MINUTE_US) == expected


# Two offices whose ranges stay clear of the DST nights, so that local times convert one to one.
OFFICES: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "berlin": ("Europe/Berlin", {"mon-fri": ["08:30-12:00", "13:00-17:45"]}, "DE", "BE"),
    "new-york": (
        "America/New_York",
        {"mon-thu": "08:00-18:00", "fri": "08:00-24:00", "sat": "10:00-14:30"},
        "US",
        "NY",
    ),
}


def day_by_day_deadline(office: str, start: datetime, target_us: int) -> datetime:
    """The reference for long targets: each local day's ranges converted with zoneinfo and counted in UTC."""
    zone_name, hours, country, subdivision = OFFICES[office]
    zone, week = ZoneInfo(zone_name), calendar(hours, zone_name).hours
    closed = public_holidays(country, subdivision, range(start.year - 1, start.year + 4))
    day, remaining = start.astimezone(zone).date(), target_us
    while True:
        for start_minute, end_minute in week[day.weekday()] if day not in closed else ():
            opens = datetime.combine(day, time(), zone) + timedelta(minutes=start_minute)
            closes = datetime.combine(day + timedelta(days=end_minute // 1440), time(), zone) + timedelta(
                minutes=end_minute % 1440
            )
            counting_from, until = max(opens.astimezone(UTC), start), closes.astimezone(UTC)
            if counting_from < until:
                length = (until - counting_from) // timedelta(microseconds=1)
                if length >= remaining:
                    return counting_from + timedelta(microseconds=remaining)
                remaining -= length
        day += timedelta(days=1)


@settings(max_examples=40, deadline=None)
@given(
    office=st.sampled_from(sorted(OFFICES)),
    start_us=st.integers(0, 3 * 365 * 24 * HOUR_US),
    target_us=st.integers(300 * HOUR_US, 2_500 * HOUR_US),
)
def test_a_target_of_months_across_a_year_of_holidays_matches_a_day_by_day_count(
    office: str, start_us: int, target_us: int
) -> None:
    zone_name, hours, country, subdivision = OFFICES[office]
    timeline = timeline_for(calendar(hours, zone_name, country=country, subdivision=subdivision))
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(microseconds=start_us)

    deadline = timeline.advance(start, target_us)

    assert deadline == day_by_day_deadline(office, start, target_us)
    assert timeline.elapsed(start, deadline) == target_us


def test_spec_friday_afternoon_plus_two_hours_falls_due_monday_at_ten_with_the_alert_at_nine_forty_two() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE))
    created = at(BERLIN, 2026, 12, 4, 16, 0)

    assert due(timeline, created, timedelta(hours=2)) == at(BERLIN, 2026, 12, 7, 10, 0)
    assert due(timeline, created, timedelta(minutes=102)) == at(BERLIN, 2026, 12, 7, 9, 42)


def test_spec_christmas_eve_plus_eight_hours_skips_both_christmas_days() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE, country="DE"))

    deadline = due(timeline, at(BERLIN, 2026, 12, 24, 16, 30), timedelta(hours=8))

    assert deadline == at(BERLIN, 2026, 12, 28, 16, 30)


def test_spec_two_hours_across_the_spring_forward_weekend_fall_due_at_ten_summer_time() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE))
    created = datetime.fromisoformat("2027-03-26T16:00:00+01:00")

    deadline = due(timeline, created, timedelta(hours=2))

    assert deadline == datetime.fromisoformat("2027-03-29T10:00:00+02:00")
    assert deadline == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)


def test_a_target_that_runs_out_at_closing_time_falls_due_at_the_close_not_at_the_next_opening() -> None:
    timeline = timeline_for(calendar({"mon-sun": "09:00-17:00"}))

    assert due(timeline, at(BERLIN, 2026, 12, 7, 15, 0), timedelta(hours=2)) == at(BERLIN, 2026, 12, 7, 17, 0)


def test_a_schedule_without_monday_counts_nothing_on_monday() -> None:
    timeline = timeline_for(calendar({"tue-fri": "09:00-17:00"}))

    assert timeline.elapsed(at(BERLIN, 2026, 12, 7, 0, 0), at(BERLIN, 2026, 12, 8, 0, 0)) == 0
    assert due(timeline, at(BERLIN, 2026, 12, 4, 16, 0), timedelta(hours=2)) == at(BERLIN, 2026, 12, 8, 10, 0)
    assert timeline.next_opening(at(BERLIN, 2026, 12, 7, 12, 0)) == at(BERLIN, 2026, 12, 8, 9, 0)


def test_a_lunch_break_is_not_counted() -> None:
    timeline = timeline_for(calendar({"mon-fri": ["09:00-12:30", "13:30-18:00"]}))
    before_lunch = at(BERLIN, 2026, 12, 7, 12, 0)

    assert due(timeline, before_lunch, timedelta(hours=1)) == at(BERLIN, 2026, 12, 7, 14, 0)
    assert timeline.elapsed(before_lunch, at(BERLIN, 2026, 12, 7, 14, 0)) == HOUR_US
    assert timeline.elapsed(at(BERLIN, 2026, 12, 7, 0, 0), at(BERLIN, 2026, 12, 8, 0, 0)) == 8 * HOUR_US
    assert not timeline.is_open(at(BERLIN, 2026, 12, 7, 13, 0))
    assert timeline.next_opening(at(BERLIN, 2026, 12, 7, 12, 45)) == at(BERLIN, 2026, 12, 7, 13, 30)


@pytest.mark.parametrize(
    ("day", "hours"),
    [pytest.param(date(2026, 3, 29), 23, id="spring-forward"), pytest.param(date(2026, 10, 25), 25, id="fall-back")],
)
def test_a_day_open_around_the_clock_lasts_as_long_as_its_dst_night_makes_it(day: date, hours: int) -> None:
    # The extra date keeps the calendar from being the same as 24x7, so its hours go through the conversion.
    timeline = timeline_for(calendar({"mon-sun": "00:00-24:00"}, dates=["2030-01-01"]))
    midnight, next_midnight = (
        datetime.combine(day, time(), BERLIN),
        datetime.combine(day + timedelta(days=1), time(), BERLIN),
    )

    assert timeline.elapsed(midnight, next_midnight) == hours * HOUR_US
    assert TWENTY_FOUR_SEVEN.elapsed(midnight, next_midnight) == hours * HOUR_US
    assert timeline.position(next_midnight) == TWENTY_FOUR_SEVEN.position(next_midnight)


def test_a_night_shift_over_the_spring_forward_gap_counts_only_the_hours_that_exist() -> None:
    timeline = timeline_for(calendar({"mon-sun": "01:00-04:00"}))
    sunday = date(2026, 3, 29)

    day_total = timeline.elapsed(datetime.combine(sunday, time(), BERLIN), datetime.combine(sunday, time(12), BERLIN))

    assert day_total == 2 * HOUR_US
    assert due(timeline, at(BERLIN, 2026, 3, 29, 1, 30), timedelta(hours=1)) == at(BERLIN, 2026, 3, 29, 3, 30)
    assert not timeline.is_open(datetime(2026, 3, 29, 2, 0, tzinfo=UTC))


def test_a_night_shift_over_the_fall_back_night_counts_the_repeated_hour_twice() -> None:
    timeline = timeline_for(calendar({"mon-sun": "01:00-04:00"}))
    sunday = date(2026, 10, 25)

    day_total = timeline.elapsed(datetime.combine(sunday, time(), BERLIN), datetime.combine(sunday, time(12), BERLIN))

    assert day_total == 4 * HOUR_US
    deadline = due(timeline, at(BERLIN, 2026, 10, 25, 1, 30), timedelta(hours=2))
    # The second 02:30 of the night; an aware datetime with fold=1 never equals one in another zone.
    local = deadline.astimezone(BERLIN)
    assert (local.hour, local.minute, local.fold) == (2, 30, 1)
    assert deadline == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_hours_around_the_spring_forward_gap_meet_at_the_change_to_the_second() -> None:
    timeline = timeline_for(calendar({"sun": ["00:00-02:00", "03:00-05:00"]}))

    spans = [(start, end) for start, end, _ in timeline.intervals()]

    assert (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 3, tzinfo=UTC)) in spans


def test_lord_howe_moves_its_clocks_by_half_an_hour() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    timeline = timeline_for(calendar({"mon-sun": "01:00-03:00"}, "Australia/Lord_Howe"))

    def night(day: date) -> int:
        return timeline.elapsed(datetime.combine(day, time(), lord_howe), datetime.combine(day, time(12), lord_howe))

    assert night(date(2026, 10, 4)) == 90 * MINUTE_US
    assert night(date(2026, 4, 5)) == 150 * MINUTE_US
    assert night(date(2026, 6, 7)) == 120 * MINUTE_US


def test_kolkata_counts_its_hours_at_five_and_a_half_hours_ahead_of_utc() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE, "Asia/Kolkata"))
    kolkata = ZoneInfo("Asia/Kolkata")

    deadline = due(timeline, at(kolkata, 2026, 12, 4, 16, 0), timedelta(hours=2))

    assert deadline == datetime(2026, 12, 7, 4, 30, tzinfo=UTC)


def test_a_start_at_23_59_on_a_friday_counts_from_the_next_opening() -> None:
    office, around_the_clock = timeline_for(calendar(NINE_TO_FIVE)), timeline_for(calendar({"mon-fri": "00:00-24:00"}))
    late_friday = at(BERLIN, 2026, 12, 4, 23, 59)

    assert due(office, late_friday, timedelta(hours=1)) == at(BERLIN, 2026, 12, 7, 10, 0)
    assert due(around_the_clock, late_friday, timedelta(minutes=2)) == at(BERLIN, 2026, 12, 7, 0, 1)
    assert around_the_clock.is_open(late_friday)


def test_a_start_on_a_holiday_counts_from_the_next_working_day() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE, country="DE"))
    christmas = at(BERLIN, 2026, 12, 25, 10, 0)

    assert not timeline.is_open(christmas)
    assert timeline.next_opening(christmas) == at(BERLIN, 2026, 12, 28, 9, 0)
    assert due(timeline, christmas, timedelta(hours=1)) == at(BERLIN, 2026, 12, 28, 10, 0)


def test_an_extra_closed_date_closes_the_whole_local_day() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE, dates=["2026-12-07"]))

    assert timeline.elapsed(at(BERLIN, 2026, 12, 7, 0, 0), at(BERLIN, 2026, 12, 8, 0, 0)) == 0


def test_a_range_ending_at_24_00_runs_to_midnight_and_joins_the_next_day() -> None:
    timeline = timeline_for(calendar({"mon": "22:00-24:00", "tue": "00:00-02:00", "wed-fri": "18:00-24:00"}))

    assert due(timeline, at(BERLIN, 2026, 12, 7, 23, 0), timedelta(hours=2)) == at(BERLIN, 2026, 12, 8, 1, 0)
    assert due(timeline, at(BERLIN, 2026, 12, 9, 23, 30), timedelta(hours=1)) == at(BERLIN, 2026, 12, 10, 18, 30)
    spans = [(start, end) for start, end, _ in timeline.intervals()]
    assert (at(BERLIN, 2026, 12, 7, 22, 0), at(BERLIN, 2026, 12, 8, 2, 0)) in spans


def test_every_spelling_of_the_weekdays_gives_the_same_timeline_and_deadlines() -> None:
    spelled_as_a_range = timeline_for(calendar({"mon-fri": "09:00-17:00"}))
    spelled_as_a_list = timeline_for(calendar({"mon,tue,wed,thu,fri": "09:00-17:00"}))
    start = at(BERLIN, 2026, 12, 4, 16, 0)

    assert spelled_as_a_list is spelled_as_a_range
    assert due(spelled_as_a_list, start, timedelta(hours=2)) == due(spelled_as_a_range, start, timedelta(hours=2))


def test_the_timeline_of_a_nine_to_five_week_has_one_interval_per_working_day_up_to_its_horizon() -> None:
    office = calendar(NINE_TO_FIVE, country="DE")

    timeline = business_time.build_timeline(office)

    intervals = timeline.intervals()
    assert intervals[0] == (datetime(1970, 1, 1, 8, tzinfo=UTC), datetime(1970, 1, 1, 16, tzinfo=UTC), 0)
    assert all(end - start == timedelta(hours=8) for start, end, _ in intervals[:-1])
    assert all(later[2] - earlier[2] == 8 * HOUR_US for earlier, later in pairwise(intervals))
    assert timeline.end_at == intervals[-1][1]
    assert timeline.elapsed(datetime(2200, 1, 1, tzinfo=UTC), intervals[-1][1]) == 365 * 24 * HOUR_US
    assert 59_000 < len(timeline) < 61_000


def test_a_position_and_its_instant_round_trip_inside_open_hours() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE))
    instant = at(BERLIN, 2026, 12, 7, 11, 12) + timedelta(seconds=13, microseconds=141_592)

    assert timeline.instant(timeline.position(instant)) == instant
    assert timeline.instant(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert timeline.instant(1) == datetime(1970, 1, 1, 8, 0, 0, 1, tzinfo=UTC)


def test_24x7_counts_every_microsecond_since_the_epoch() -> None:
    instant = datetime(2026, 12, 4, 16, 0, 0, 7, tzinfo=UTC)

    assert timeline_for(ALWAYS_OPEN) is TWENTY_FOUR_SEVEN
    assert timeline_for(calendar({"mon-sun": "00:00-24:00"}, "Asia/Kolkata")) is TWENTY_FOUR_SEVEN
    assert TWENTY_FOUR_SEVEN.position(instant) == (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )
    assert TWENTY_FOUR_SEVEN.instant(TWENTY_FOUR_SEVEN.position(instant)) == instant
    assert TWENTY_FOUR_SEVEN.is_open(instant)
    assert TWENTY_FOUR_SEVEN.next_opening(instant) == instant
    assert TWENTY_FOUR_SEVEN.intervals() == ()


def test_an_empty_or_backward_span_and_a_zero_target_count_nothing() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE))
    saturday = at(BERLIN, 2026, 12, 5, 12, 0)

    assert timeline.elapsed(saturday, saturday - timedelta(days=3)) == 0
    assert timeline.advance(saturday, 0) == saturday


def test_instants_and_positions_outside_the_timeline_are_refused() -> None:
    timeline = timeline_for(calendar(NINE_TO_FIVE))
    total = timeline.total_us
    assert total is not None

    with pytest.raises(OutsideTimeline):
        timeline.position(datetime(1969, 12, 31, 23, 59, tzinfo=UTC))
    with pytest.raises(OutsideTimeline):
        timeline.instant(total + 1)
    with pytest.raises(OutsideTimeline):
        timeline.is_open(datetime(2300, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="no time zone"):
        timeline.position(datetime(2026, 12, 7, 9, 0))
