"""Business-hours calendars, as written under `calendars:` in sla_config.yaml, and when they are open.

A calendar names an IANA time zone, weekly opening hours in local wall-clock time, and the local
dates it is closed: public holidays of a country (the `holidays` package) and extra dates. An
instant is open when its local time on its local date lies in one of that weekday's ranges and the
date is not a holiday. `24x7` is built in: always open, in UTC.

    calendars:
      berlin-office:
        timezone: Europe/Berlin
        hours:
          mon-fri: ["09:00-12:30", "13:30-18:00"]
          sat: "10:00-14:00"
        holidays: {country: DE, subdivision: BE, dates: ["2026-12-24"]}
"""

import difflib
import hashlib
import json
import re
import warnings
import zoneinfo
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import chain
from typing import Annotated, Any, Final

from holidays import country_holidays
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, field_validator, model_validator

from api.kit import wallclock
from api.kit.wallclock import DAY_US, MINUTE_US

ALWAYS_OPEN_NAME: Final = "24x7"
DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY: Final = 1_440
# A calendar must reach a year of counted time from 2200 before 9000: that bounds its timeline.
HORIZON_FROM: Final = datetime(2200, 1, 1, tzinfo=UTC)
HORIZON_TARGET_US: Final = 365 * DAY_US
LATEST_HORIZON: Final = datetime(9000, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_EPOCH_WEEKDAY: Final = date(1970, 1, 1).weekday()
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

MinuteRange = tuple[int, int]
DayHours = tuple[MinuteRange, ...]


def _instant_us(instant: datetime) -> int:
    return (instant - wallclock.EPOCH) // timedelta(microseconds=1)


def day_number(local_date: date) -> int:
    """Days from 1970-01-01 to a local date; the wall-clock day index of `api.kit.wallclock`."""
    return local_date.toordinal() - _EPOCH_ORDINAL


def format_minute(minute: int) -> str:
    """'09:30' for 570; '24:00' for the end of the day."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_range(minutes: MinuteRange) -> str:
    """'09:00-17:00' for (540, 1020)."""
    return f"{format_minute(minutes[0])}-{format_minute(minutes[1])}"


def _parse_range(text: Any) -> MinuteRange:
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a time range: write it as a string like '09:00-17:00'")
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time range: write 'HH:MM-HH:MM', such as '09:00-17:00'")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    for hour, minute in ((start_hour, start_minute), (end_hour, end_minute)):
        if minute > 59 or hour > 24 or (hour == 24 and minute > 0):
            raise ValueError(f"{text!r} names a time that does not exist: {hour:02d}:{minute:02d}")
    start, end = start_hour * 60 + start_minute, end_hour * 60 + end_minute
    if start == MINUTES_PER_DAY:
        raise ValueError(f"{text!r} starts at 24:00: only the end of a range may be 24:00")
    if end == start:
        raise ValueError(f"{text!r} is an empty range: it ends where it starts")
    if end < start:
        raise ValueError(
            f"{text!r} is reversed: it ends before it starts; a range past midnight is two ranges, "
            "one ending at 24:00 and one on the next day starting at 00:00"
        )
    return start, end


def _parse_days(key: Any) -> list[int]:
    if not isinstance(key, str):
        raise ValueError(f"{key!r} is not a day: use mon..sun, a range such as mon-fri, or a list such as mon,wed")
    days: list[int] = []
    for part in key.lower().split(","):
        ends = [name.strip() for name in part.split("-")]
        unknown = [name for name in ends if name not in DAY_NAMES]
        if unknown or len(ends) > 2:
            raise ValueError(
                f"unknown day {unknown[0] if unknown else part.strip()!r} in {key!r}: "
                "use mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, or a list such as mon,wed"
            )
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        if last < first:
            raise ValueError(f"the day range {part.strip()!r} in {key!r} runs backwards: weeks run from mon to sun")
        days.extend(range(first, last + 1))
    return days


def _day_hours(day: int, named: list[tuple[MinuteRange, str]]) -> DayHours:
    """One weekday's ranges, sorted, refused if two overlap, merged where they touch."""
    named.sort()
    merged: list[MinuteRange] = []
    for index, ((start, end), key) in enumerate(named):
        if index and start < named[index - 1][0][1]:
            previous, previous_key = named[index - 1]
            origin = f"'{previous_key}'" if previous_key == key else f"'{previous_key}' and '{key}'"
            raise ValueError(
                f"overlapping ranges on {DAY_NAMES[day]}: {format_range(previous)} and {format_range((start, end))} "
                f"(from {origin})"
            )
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def parse_hours(value: Any) -> tuple[DayHours, ...]:
    """Turn {"mon-fri": ["09:00-12:30", "13:30-18:00"], "sat": "10:00-14:00"} into seven days of ranges."""
    if not isinstance(value, Mapping):
        raise ValueError("hours is a mapping of days to ranges, such as {mon-fri: '09:00-17:00'}")
    by_day: list[list[tuple[MinuteRange, str]]] = [[] for _ in DAY_NAMES]
    for key, ranges in value.items():
        days = _parse_days(key)
        texts = ranges if isinstance(ranges, list | tuple) else [ranges]
        parsed = [_parse_range(text) for text in texts]
        for day in days:
            by_day[day].extend((minutes, key) for minutes in parsed)
    return tuple(_day_hours(day, named) for day, named in enumerate(by_day))


def _parse_dates(value: Any) -> tuple[date, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValueError("holidays.dates is a list of dates such as ['2026-12-24', '2026-12-31']")
    found: set[date] = set()
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            found.add(item)
        elif isinstance(item, str) and _ISO_DATE.match(item.strip()):
            try:
                found.add(date.fromisoformat(item.strip()))
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a date: {exc}") from exc
        else:
            raise ValueError(f"{item!r} is not a date: write it as YYYY-MM-DD, such as 2026-12-24")
    return tuple(sorted(found))


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class HolidayRules(BaseModel):
    """The local dates a calendar is closed: a country's public holidays and extra dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str | None = None
    subdivision: str | None = None
    dates: Annotated[tuple[date, ...], BeforeValidator(_parse_dates)] = ()

    @field_validator("country")
    @classmethod
    def _known_country(cls, country: str | None) -> str | None:
        if country is None:
            return None
        try:
            country_holidays(country)
        except NotImplementedError:
            hint = f" (country codes are upper case: {country.upper()!r})" if _is_country(country.upper()) else ""
            raise ValueError(
                f"unknown holiday country {country!r}{hint}: use an ISO 3166-1 alpha-2 code such as DE or US"
            ) from None
        return country

    @model_validator(mode="after")
    def _known_subdivision(self) -> "HolidayRules":
        if self.subdivision is None:
            return self
        if self.country is None:
            raise ValueError(f"holiday subdivision {self.subdivision!r} needs a country")
        try:
            country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError:
            known = ", ".join(country_holidays(self.country).subdivisions) or "none"
            raise ValueError(
                f"unknown holiday subdivision {self.subdivision!r} of {self.country}; its subdivisions are {known}"
            ) from None
        return self

    def as_document(self) -> dict[str, Any]:
        """The rules as stored: every key present, dates as ISO strings in order."""
        return {
            "country": self.country,
            "subdivision": self.subdivision,
            "dates": [day.isoformat() for day in self.dates],
        }


def _is_country(code: str) -> bool:
    try:
        country_holidays(code)
    except NotImplementedError:
        return False
    return True


class Calendar(BaseModel):
    """One validated, immutable calendar; `hours[0]` is Monday's ranges in minutes since local midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str
    hours: Annotated[tuple[DayHours, ...], BeforeValidator(parse_hours)]
    holidays: HolidayRules = HolidayRules()

    @field_validator("holidays", mode="before")
    @classmethod
    def _no_holidays_when_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        if name not in _zone_names():
            close = difflib.get_close_matches(name, _zone_names(), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"unknown time zone {name!r}{hint}: use an IANA name such as Europe/Berlin")
        return name

    @model_validator(mode="after")
    def _open_often_enough(self) -> "Calendar":
        if not any(self.hours):
            raise ValueError("the calendar has no open hour: give at least one range under hours")
        if self.horizon_us is None:
            raise ValueError(
                f"the calendar is too sparse ({self.weekly_open_minutes} open minutes a week): a target of "
                f"365 days of counted time started at {HORIZON_FROM.date()} would not be reached before year "
                f"{LATEST_HORIZON.year}"
            )
        return self

    @property
    def weekly_open_minutes(self) -> int:
        """Open minutes of a week without holidays, in wall-clock time."""
        return sum(end - start for day in self.hours for start, end in day)

    @property
    def is_always_open(self) -> bool:
        """Open at every instant: every day 00:00-24:00 and no holiday, whatever the zone."""
        full_day = ((0, MINUTES_PER_DAY),)
        return all(day == full_day for day in self.hours) and self.holidays.country is None and not self.holidays.dates

    @cached_property
    def horizon_us(self) -> int | None:
        """The instant the counted time from 2200-01-01T00:00Z reaches 365 days, or None if not before 9000."""
        return _horizon(self)

    def as_document(self) -> dict[str, Any]:
        """The calendar in canonical form: every weekday spelled out, ranges merged, dates sorted."""
        return {
            "timezone": self.timezone,
            "hours": {
                name: [format_range(minutes) for minutes in day]
                for name, day in zip(DAY_NAMES, self.hours, strict=True)
            },
            "holidays": self.holidays.as_document(),
        }

    @cached_property
    def fingerprint(self) -> str:
        """A stable digest of the canonical document: equal for calendars that mean the same."""
        text = json.dumps(self.as_document(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=512)
def _public_holidays(country: str, subdivision: str | None, century: int) -> frozenset[int]:
    """Day numbers of a country's public holidays in one century, computed once per process."""
    entity = country_holidays(country, subdiv=subdivision)
    # No timeline reaches back before 1969.
    first = max(century * 100, entity.start_year, 1969)
    last = min(century * 100 + 99, entity.end_year)
    if first > last:
        return frozenset()
    # The package warns about years beyond its lunar tables; a timeline asks for every year by design.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = country_holidays(country, subdiv=subdivision, years=range(first, last + 1))
    return frozenset(day_number(day) for day in found)


class _ClosedDays:
    """Day numbers on which a calendar is closed all day, loaded a century at a time as days advance."""

    def __init__(self, rules: HolidayRules) -> None:
        self._rules = rules
        self.days = {day_number(extra) for extra in rules.dates}
        self._loaded: set[int] = set()

    def load_year_of(self, day: int) -> int:
        """Make `days` complete for the year of `day`; return the first day of the next year."""
        year = date.fromordinal(day + _EPOCH_ORDINAL).year
        if self._rules.country is not None:
            for century in {year // 100, (year + 1) // 100} - self._loaded:
                self.days |= _public_holidays(self._rules.country, self._rules.subdivision, century)
                self._loaded.add(century)
        return day_number(date(year + 1, 1, 1)) if year < 9999 else 10**9


def open_intervals(calendar: Calendar, from_us: int) -> Iterator[tuple[int, int]]:
    """The calendar's open instants from `from_us` on, as disjoint UTC intervals in order; some may touch."""
    pending: list[tuple[int, int]] = []
    for midnight, intervals in chain(_local_days_in_utc(calendar, from_us), [(wallclock.LATEST_US, [])]):
        _add_in_order(pending, intervals)
        # Instants of later local days all come after this midnight: an offset is less than a day.
        while pending and pending[0][0] <= midnight:
            start, end = pending.pop(0)
            if end > from_us:
                yield max(start, from_us), end


def _local_days_in_utc(calendar: Calendar, from_us: int) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """For each open local day from about `from_us` on: its midnight and its ranges as UTC intervals."""
    offsets = wallclock.zone_offsets(calendar.timezone)
    closed = _ClosedDays(calendar.holidays)
    week = [[(start * MINUTE_US, end * MINUTE_US) for start, end in day] for day in calendar.hours]
    open_weekdays = [weekday for weekday, ranges in enumerate(week) if ranges]
    first_day = max(from_us // DAY_US - 1, wallclock.EARLIEST_US // DAY_US + 1)
    first_monday = first_day - (first_day + _EPOCH_WEEKDAY) % 7
    run_from, run_to, offset = offsets.stretch(first_day * DAY_US - DAY_US)
    next_year = first_day
    for monday in range(first_monday, wallclock.LATEST_US // DAY_US - 9, 7):
        for weekday in open_weekdays:
            day = monday + weekday
            if day < first_day:
                continue
            if day >= next_year:
                next_year = closed.load_year_of(day)
            if day in closed.days:
                continue
            midnight, ranges = day * DAY_US, week[weekday]
            # Every instant of a local day lies within a day of its midnight: an offset is less than a day.
            if not run_from <= midnight - DAY_US < run_to:
                run_from, run_to, offset = offsets.stretch(midnight - DAY_US)
            if midnight + 2 * DAY_US <= run_to:
                yield midnight, [(midnight + start - offset, midnight + end - offset) for start, end in ranges]
            else:
                yield (
                    midnight,
                    [part for start, end in ranges for part in offsets.to_utc(midnight + start, midnight + end)],
                )


def _add_in_order(pending: list[tuple[int, int]], intervals: list[tuple[int, int]]) -> None:
    for interval in intervals:
        pending.append(interval)
        if len(pending) > 1 and interval[0] < pending[-2][0]:
            # Only a fall-back night puts an interval before one already found.
            pending.sort()


def _horizon(calendar: Calendar) -> int | None:
    if calendar.is_always_open:
        return _instant_us(HORIZON_FROM) + HORIZON_TARGET_US
    counted, latest = 0, _instant_us(LATEST_HORIZON)
    for start, end in open_intervals(calendar, _instant_us(HORIZON_FROM)):
        if start >= latest:
            return None
        needed = HORIZON_TARGET_US - counted
        if end - start >= needed:
            reached = start + needed
            return reached if reached < latest else None
        counted += end - start
    return None


def _refuse_builtin_name(calendars: dict[str, Calendar]) -> dict[str, Calendar]:
    if ALWAYS_OPEN_NAME in calendars:
        raise ValueError(f"{ALWAYS_OPEN_NAME!r} is built in (always open, UTC) and cannot be redefined")
    return calendars


Calendars = Annotated[dict[str, Calendar], AfterValidator(_refuse_builtin_name)]
ALWAYS_OPEN: Final = Calendar(timezone="UTC", hours={"mon-sun": "00:00-24:00"})


def calendar_named(calendars: Mapping[str, Calendar], name: str) -> Calendar:
    """A calendar of the config by name, `24x7` included."""
    if name == ALWAYS_OPEN_NAME:
        return ALWAYS_OPEN
    return calendars[name]
