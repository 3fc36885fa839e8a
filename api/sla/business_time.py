"""Business time over a calendar, exact to the microsecond, as a timeline.

A timeline is the calendar's open intervals converted once to UTC, each with the business time
counted before it, from 1970-01-01T00:00Z (position 0) to the instant at which the business time
counted from 2200-01-01T00:00Z reaches 365 days. Time zones and DST live only in that conversion;
everything here is ordered lookups in integer microseconds. Instants are timezone-aware datetimes,
answered in UTC.
"""

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from api.kit.wallclock import EPOCH
from api.sla_config.calendars import Calendar, open_intervals

_CACHE_SIZE: Final = 64


class OutsideTimeline(ValueError):
    """An instant or a position that the timeline does not cover."""


def _us(instant: datetime) -> int:
    if instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} has no time zone: business time needs an aware datetime")
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _instant(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Timeline:
    """Open intervals in UTC microseconds, each with the business microseconds counted before it."""

    _starts: "array[int]"
    _ends: "array[int]"
    _before: "array[int]"
    _always_open: bool = False

    @property
    def end_at(self) -> datetime | None:
        """The last instant covered; None when always open (every instant is covered)."""
        return None if self._always_open else _instant(self._end_us)

    @property
    def _end_us(self) -> int:
        return self._ends[-1]

    @property
    def total_us(self) -> int | None:
        """The business time from the origin to `end_at`; None when always open."""
        return None if self._always_open else self._before[-1] + self._ends[-1] - self._starts[-1]

    def __len__(self) -> int:
        return len(self._starts)

    def __repr__(self) -> str:
        if self._always_open:
            return "Timeline(always open)"
        return f"Timeline({len(self)} intervals to {self.end_at})"

    def _covered(self, instant: datetime, *, end_inclusive: bool) -> int:
        at = _us(instant)
        if self._always_open:
            return at
        if at < 0 or at > self._end_us or (at == self._end_us and not end_inclusive):
            raise OutsideTimeline(f"{instant.isoformat()} is outside the timeline (1970 to {self.end_at})")
        return at

    def position(self, instant: datetime) -> int:
        """Business microseconds counted from the origin up to `instant`."""
        at = self._covered(instant, end_inclusive=True)
        if self._always_open:
            return at
        index = bisect_right(self._starts, at) - 1
        if index < 0:
            return 0
        return self._before[index] + min(at, self._ends[index]) - self._starts[index]

    def elapsed(self, start: datetime, end: datetime) -> int:
        """Business microseconds in [start, end); 0 if `end` is not after `start`."""
        if end <= start:
            return 0
        if self._always_open:  # every instant counts: the plain difference, without positions
            return _us(end) - _us(start)
        return self.position(end) - self.position(start)

    def instant(self, position: int) -> datetime:
        """The earliest instant at which the counted time reaches `position`: at an interval's end, that end."""
        if self._always_open:
            return _instant(position)
        total = self.total_us
        assert total is not None
        if position < 0 or position > total:
            raise OutsideTimeline(f"position {position} is outside the timeline (0 to {total})")
        if position == 0:
            return EPOCH
        index = bisect_left(self._before, position) - 1
        return _instant(self._starts[index] + position - self._before[index])

    def advance(self, start: datetime, business_us: int) -> datetime:
        """The instant at which `business_us` of business time has been counted since `start`, never before it."""
        if business_us <= 0:
            return start.astimezone(UTC)
        if self._always_open:
            self._covered(start, end_inclusive=True)
            return start.astimezone(UTC) + timedelta(microseconds=business_us)
        return self.instant(self.position(start) + business_us)

    def is_open(self, instant: datetime) -> bool:
        """Whether the calendar counts time at `instant`."""
        at = self._covered(instant, end_inclusive=False)
        if self._always_open:
            return True
        index = bisect_right(self._starts, at) - 1
        return index >= 0 and at < self._ends[index]

    def next_opening(self, instant: datetime) -> datetime:
        """`instant` itself if open, otherwise the start of the next open interval."""
        if self.is_open(instant):
            return instant.astimezone(UTC)
        index = bisect_right(self._starts, _us(instant))
        if index == len(self._starts):
            raise OutsideTimeline(f"the calendar does not open again after {instant.isoformat()} within its timeline")
        return _instant(self._starts[index])

    def intervals(self) -> tuple[tuple[datetime, datetime, int], ...]:
        """(start_at, end_at, position_before) of every open interval, in order; empty when always open."""
        return tuple(
            (_instant(start), _instant(end), before)
            for start, end, before in zip(self._starts, self._ends, self._before, strict=True)
        )


# Always open: no intervals, and a position is simply the time since 1970-01-01T00:00Z.
TWENTY_FOUR_SEVEN: Final = Timeline(array("q"), array("q"), array("q"), _always_open=True)


def build_timeline(calendar: Calendar) -> Timeline:
    """Convert a calendar's open hours to UTC from 1970 to its horizon, counting as it goes."""
    if calendar.is_always_open:
        return TWENTY_FOUR_SEVEN
    horizon = calendar.horizon_us
    assert horizon is not None  # a validated calendar always has one
    starts, ends, before = array("q"), array("q"), array("q")
    counted = 0
    for start, end in open_intervals(calendar, 0):
        if start >= horizon:
            break
        end = min(end, horizon)
        if ends and ends[-1] == start:
            ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
            before.append(counted)
        counted += end - start
    return Timeline(starts, ends, before)


_cache: OrderedDict[str, Timeline] = OrderedDict()
_cache_lock = threading.Lock()


def timeline_for(calendar: Calendar) -> Timeline:
    """The timeline of a calendar, built once per canonical document and kept for the next calls."""
    key = calendar.fingerprint
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    built = build_timeline(calendar)
    with _cache_lock:
        _cache[key] = built
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return built
