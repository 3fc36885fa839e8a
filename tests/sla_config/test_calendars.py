"""The calendar schema: what a calendar in sla_config.yaml means, and the reasons one is refused."""

from datetime import date
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from api.sla_config.calendars import (
    ALWAYS_OPEN,
    ALWAYS_OPEN_NAME,
    Calendar,
    Calendars,
    HolidayRules,
    calendar_named,
)

SPEC_EXAMPLE = """
calendars:
  berlin-office:
    timezone: Europe/Berlin
    hours:
      mon-fri: ["09:00-12:30", "13:30-18:00"]
      sat: "10:00-14:00"
    holidays:
      country: DE
      subdivision: BE
      dates: ["2026-12-24", "2026-12-31"]
"""


def calendar(hours: Any, timezone: str = "Europe/Berlin", **holidays: Any) -> Calendar:
    """A calendar validated from the shape it has in the YAML file."""
    return Calendar.model_validate({"timezone": timezone, "hours": hours, "holidays": holidays})


def refusal(hours: Any, timezone: str = "Europe/Berlin", **holidays: Any) -> str:
    """The message a calendar is refused with."""
    with pytest.raises(ValidationError) as refused:
        calendar(hours, timezone, **holidays)
    return str(refused.value)


def test_the_spec_example_reads_as_seven_days_of_minute_ranges() -> None:
    document = yaml.safe_load(SPEC_EXAMPLE)["calendars"]

    office = TypeAdapter(Calendars).validate_python(document)["berlin-office"]

    weekday = ((9 * 60, 12 * 60 + 30), (13 * 60 + 30, 18 * 60))
    assert office.hours == (weekday, weekday, weekday, weekday, weekday, ((600, 840),), ())
    assert office.timezone == "Europe/Berlin"
    assert (office.holidays.country, office.holidays.subdivision) == ("DE", "BE")
    assert office.holidays.dates == (date(2026, 12, 24), date(2026, 12, 31))


def test_the_canonical_document_spells_out_every_day_and_reads_back_as_the_same_calendar() -> None:
    office = calendar({"sat": "10:00-14:00", "mon-fri": ["13:30-18:00", "09:00-12:30"]}, country="DE")

    document = office.as_document()

    assert document == {
        "timezone": "Europe/Berlin",
        "hours": {
            **{day: ["09:00-12:30", "13:30-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
            "sat": ["10:00-14:00"],
            "sun": [],
        },
        "holidays": {"country": "DE", "subdivision": None, "dates": []},
    }
    assert Calendar.model_validate(document) == office
    assert Calendar.model_validate(document).fingerprint == office.fingerprint


def test_every_spelling_of_the_same_week_gives_the_same_document() -> None:
    spellings = [
        {"mon-fri": "09:00-17:00"},
        {"mon,tue,wed,thu,fri": "09:00-17:00"},
        {"Mon - Wed, Thu,fri": ["09:00-17:00"]},
        {"mon-fri": ["09:00-12:00", "12:00-17:00"]},
        {"mon-wed": "09:00-17:00", "thu": "09:00-13:00", "thu,fri": "13:00-17:00", "fri": "09:00-13:00"},
    ]

    fingerprints = {calendar(hours).fingerprint for hours in spellings}

    assert len(fingerprints) == 1


def test_extra_dates_may_be_yaml_dates_or_strings_and_are_kept_sorted_once() -> None:
    document = yaml.safe_load("dates: [2026-12-31, '2026-12-24', 2026-12-31]")

    rules = HolidayRules.model_validate(document)

    assert rules.dates == (date(2026, 12, 24), date(2026, 12, 31))


def test_an_empty_holidays_section_means_no_holidays() -> None:
    document = yaml.safe_load("timezone: UTC\nhours: {mon: '09:00-17:00'}\nholidays:\n")

    assert Calendar.model_validate(document).holidays == HolidayRules()


def test_a_range_may_end_at_24_00() -> None:
    night = calendar({"mon": "22:00-24:00", "tue": "00:00-06:00"})

    assert night.hours[0] == ((22 * 60, 1440),)
    assert night.as_document()["hours"]["mon"] == ["22:00-24:00"]


def test_24x7_is_built_in_always_open_in_utc() -> None:
    assert calendar_named({}, ALWAYS_OPEN_NAME) is ALWAYS_OPEN
    assert ALWAYS_OPEN.timezone == "UTC"
    assert ALWAYS_OPEN.is_always_open
    assert all(day == ((0, 1440),) for day in ALWAYS_OPEN.hours)


def test_a_calendar_cannot_take_the_name_24x7() -> None:
    with pytest.raises(ValidationError, match="'24x7' is built in"):
        TypeAdapter(Calendars).validate_python({"24x7": {"timezone": "UTC", "hours": {"mon": "09:00-17:00"}}})


def test_a_calendar_with_holidays_or_closed_hours_is_not_always_open() -> None:
    assert not calendar({"mon-sun": "00:00-24:00"}, dates=["2026-12-24"]).is_always_open
    assert not calendar({"mon-sat": "00:00-24:00"}).is_always_open
    assert calendar({"mon-sun": "00:00-24:00"}, timezone="Asia/Kolkata").is_always_open


@pytest.mark.parametrize(
    ("timezone", "message"),
    [
        pytest.param("Europe/Berln", "unknown time zone 'Europe/Berln' (did you mean Europe/Berlin?)", id="typo"),
        pytest.param("europe/berlin", "unknown time zone 'europe/berlin'", id="lower-case"),
        pytest.param("Europe", "unknown time zone 'Europe'", id="a-folder"),
        pytest.param("", "unknown time zone ''", id="empty"),
        pytest.param("../etc/passwd", "unknown time zone", id="a-path"),
        pytest.param("CEST", "unknown time zone 'CEST'", id="an-abbreviation"),
    ],
)
def test_an_unknown_time_zone_is_refused(timezone: str, message: str) -> None:
    assert message in refusal({"mon": "09:00-17:00"}, timezone)


def test_an_unknown_country_is_refused() -> None:
    assert "unknown holiday country 'XX'" in refusal({"mon": "09:00-17:00"}, country="XX")


def test_a_lower_case_country_code_is_refused_with_the_code_it_means() -> None:
    message = refusal({"mon": "09:00-17:00"}, country="de")

    assert "unknown holiday country 'de' (country codes are upper case: 'DE')" in message


def test_an_unknown_subdivision_is_refused_with_the_known_ones() -> None:
    message = refusal({"mon": "09:00-17:00"}, country="DE", subdivision="XX")

    assert "unknown holiday subdivision 'XX' of DE" in message
    assert "BE" in message


def test_a_subdivision_without_a_country_is_refused() -> None:
    assert "holiday subdivision 'BE' needs a country" in refusal({"mon": "09:00-17:00"}, subdivision="BE")


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        pytest.param(
            {"mon": ["09:00-12:00", "11:00-13:00"]},
            "overlapping ranges on mon: 09:00-12:00 and 11:00-13:00 (from 'mon')",
            id="within-a-key",
        ),
        pytest.param(
            {"mon-fri": "09:00-17:00", "fri": "16:00-18:00"},
            "overlapping ranges on fri: 09:00-17:00 and 16:00-18:00 (from 'mon-fri' and 'fri')",
            id="two-keys-naming-one-day",
        ),
        pytest.param(
            {"mon-fri": "09:00-17:00", "mon,wed": "09:00-17:00"},
            "overlapping ranges on mon: 09:00-17:00 and 09:00-17:00",
            id="the-same-range-twice",
        ),
        pytest.param({"mon,mon": "09:00-17:00"}, "overlapping ranges on mon", id="a-day-twice-in-one-key"),
    ],
)
def test_overlapping_ranges_are_refused_naming_the_day_and_the_keys(hours: dict[str, Any], message: str) -> None:
    assert message in refusal(hours)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("17:00-09:00", "'17:00-09:00' is reversed", id="reversed"),
        pytest.param("22:00-02:00", "a range past midnight is two ranges", id="past-midnight"),
        pytest.param("09:00-09:00", "'09:00-09:00' is an empty range", id="empty"),
        pytest.param("24:00-24:00", "starts at 24:00", id="starts-at-24"),
    ],
)
def test_reversed_and_empty_ranges_are_refused(text: str, message: str) -> None:
    assert message in refusal({"mon": text})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("9-17", "'9-17' is not a time range: write 'HH:MM-HH:MM'", id="hours-only"),
        pytest.param("09:00", "'09:00' is not a time range", id="one-time"),
        pytest.param("09:00-17:00:00", "is not a time range", id="seconds"),
        pytest.param("25:00-26:00", "names a time that does not exist: 25:00", id="hour-25"),
        pytest.param("09:60-10:00", "names a time that does not exist: 09:60", id="minute-60"),
        pytest.param("09:00-24:30", "names a time that does not exist: 24:30", id="past-24"),
        pytest.param(900, "900 is not a time range: write it as a string", id="a-number"),
        pytest.param(None, "None is not a time range", id="nothing"),
    ],
)
def test_malformed_times_are_refused(value: Any, message: str) -> None:
    assert message in refusal({"mon": value})


@pytest.mark.parametrize(
    ("key", "message"),
    [
        pytest.param("monday", "unknown day 'monday' in 'monday'", id="full-name"),
        pytest.param("mon-frii", "unknown day 'frii' in 'mon-frii'", id="typo-in-a-range"),
        pytest.param("mon,,wed", "unknown day '' in 'mon,,wed'", id="empty-item"),
        pytest.param("mon-wed-fri", "unknown day 'mon-wed-fri'", id="two-dashes"),
        pytest.param("fri-mon", "the day range 'fri-mon' in 'fri-mon' runs backwards", id="backwards"),
    ],
)
def test_an_unknown_day_is_refused(key: str, message: str) -> None:
    assert message in refusal({key: "09:00-17:00"})


@pytest.mark.parametrize(
    "hours",
    [
        pytest.param({}, id="no-days"),
        pytest.param({"mon-sun": []}, id="only-empty-days"),
    ],
)
def test_a_calendar_with_no_open_hour_is_refused(hours: dict[str, Any]) -> None:
    assert "the calendar has no open hour" in refusal(hours)


def test_hours_that_are_not_a_mapping_are_refused() -> None:
    assert "hours is a mapping of days to ranges" in refusal(["mon", "09:00-17:00"])


def test_a_calendar_too_sparse_to_reach_a_year_of_counted_time_before_9000_is_refused() -> None:
    message = refusal({"sun": "00:00-00:01"})

    assert "the calendar is too sparse (1 open minutes a week)" in message
    assert "would not be reached before year 9000" in message


def test_a_sparse_calendar_that_reaches_a_year_of_counted_time_in_time_is_accepted() -> None:
    sparse = calendar({"sun": "10:00-10:10"}, timezone="UTC")

    # 10 minutes a week: 365 days of them take 52,560 weeks from 2200-01-01 (a Wednesday).
    assert sparse.horizon_us is not None
    reached = sparse.horizon_us // 1_000_000 // 86_400
    assert reached == (date(2200, 1, 5).toordinal() - date(1970, 1, 1).toordinal()) + 52_559 * 7


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        pytest.param(["2026-02-30"], "'2026-02-30' is not a date", id="no-such-day"),
        pytest.param(["24.12.2026"], "'24.12.2026' is not a date: write it as YYYY-MM-DD", id="another-format"),
        pytest.param("2026-12-24", "holidays.dates is a list of dates", id="not-a-list"),
    ],
)
def test_malformed_extra_dates_are_refused(dates: Any, message: str) -> None:
    assert message in refusal({"mon": "09:00-17:00"}, dates=dates)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"holidays\.region"):
        Calendar.model_validate({"timezone": "UTC", "hours": {"mon": "09:00-17:00"}, "holidays": {"region": "BE"}})
