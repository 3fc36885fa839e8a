"""Local wall-clock time in an IANA zone, turned into UTC exactly, in integer microseconds.

Instants are microseconds since 1970-01-01T00:00Z. Wall-clock times are microseconds since local
1970-01-01 00:00, read as if the zone had no offset, so local midnight of day `d` is `d * DAY_US`.
A zone's offset changes are found once, by probing its offset at every UTC midnight and bisecting
to the second wherever two probes differ; the result is kept per zone for the life of the process.
A wall-clock range that a spring-forward skips has no instants; one that a fall-back repeats has two
runs of them.
"""

import threading
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

SECOND_US: Final = 1_000_000
MINUTE_US: Final = 60 * SECOND_US
DAY_SECONDS: Final = 86_400
DAY_US: Final = DAY_SECONDS * SECOND_US
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Probing starts a few days before the epoch so that the local day before it can be converted too.
EARLIEST_US: Final = -4 * DAY_US
LATEST_US: Final = (datetime(9999, 12, 28, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
_EXTEND_SECONDS: Final = 400 * DAY_SECONDS
# The Gregorian calendar repeats every 400 years (146,097 days, a whole number of weeks), and so do
# the rules a zone follows once tzdata lists no more explicit changes. Two identical cycles from
# 2200 on show that a zone is there; later cycles are then copied instead of probed.
_CYCLE_US: Final = 146_097 * DAY_US
_CYCLES_FROM_US: Final = (datetime(2200, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
_CYCLES_CHECKED_AT_SECOND: Final = (_CYCLES_FROM_US + 2 * _CYCLE_US) // SECOND_US + DAY_SECONDS

Interval = tuple[int, int]
Piece = tuple[int, int, int]


def _offset_us(offset: timedelta) -> int:
    return (offset.days * DAY_SECONDS + offset.seconds) * SECOND_US + offset.microseconds


class ZoneOffsets:
    """The UTC offset of one zone at every instant, as the list of instants where it changes."""

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone
        self._lock = threading.Lock()
        first_second = EARLIEST_US // SECOND_US
        self._changes: list[int] = []
        self._offsets: list[int] = [self._probe(first_second)]
        self._probed_until = first_second
        self._repeats: bool | None = None

    def _probe(self, second: int) -> int:
        offset = datetime.fromtimestamp(second, self._zone).utcoffset()
        assert offset is not None
        return _offset_us(offset)

    def _extend(self, until_us: int) -> None:
        if until_us > LATEST_US:
            raise ValueError("wall-clock conversion reaches only to the end of year 9999")
        with self._lock:
            target = min(until_us // SECOND_US + _EXTEND_SECONDS, LATEST_US // SECOND_US)
            if self._repeats is None and target > _CYCLES_CHECKED_AT_SECOND:
                self._probe_until(_CYCLES_CHECKED_AT_SECOND)
                self._repeats = self._second_cycle_repeats_the_first()
            if self._repeats:
                self._repeat_until(target)
            else:
                self._probe_until(target)

    def _probe_until(self, target: int) -> None:
        zone, second = self._zone, self._probed_until
        current = datetime.fromtimestamp(second, zone).utcoffset()
        while second < target:
            # tzdata has no two offset changes within a day (the closest since 1970 are a week apart).
            following = second + DAY_SECONDS
            probed = datetime.fromtimestamp(following, zone).utcoffset()
            if probed != current:
                assert probed is not None
                offset = _offset_us(probed)
                change = self._first_second_with(offset, after=second, until=following)
                # Readers look offsets up by an index into the changes: the offset goes in first.
                self._offsets.append(offset)
                self._changes.append(change * SECOND_US)
                current = probed
            second = following
        self._probed_until = max(second, self._probed_until)

    def _second_cycle_repeats_the_first(self) -> bool:
        start_us = _CYCLES_FROM_US
        first = self._changes_between(start_us, start_us + _CYCLE_US)
        second = self._changes_between(start_us + _CYCLE_US, start_us + 2 * _CYCLE_US)
        shifted = [(change + _CYCLE_US, offset) for change, offset in first]
        return shifted == second and self._offset_before(start_us) == self._offset_before(start_us + _CYCLE_US)

    def _changes_between(self, start_us: int, end_us: int) -> list[tuple[int, int]]:
        low, high = bisect_right(self._changes, start_us), bisect_right(self._changes, end_us)
        return [(self._changes[index], self._offsets[index + 1]) for index in range(low, high)]

    def _offset_before(self, instant_us: int) -> int:
        return self._offsets[bisect_right(self._changes, instant_us - 1)]

    def _repeat_until(self, target: int) -> None:
        """Extend by copying the changes of 400 years earlier, at most a cycle at a time."""
        while self._probed_until < target:
            known_us = self._probed_until * SECOND_US
            step_end_us = min(target * SECOND_US, known_us + _CYCLE_US)
            for change, offset in self._changes_between(known_us - _CYCLE_US, step_end_us - _CYCLE_US):
                self._offsets.append(offset)
                self._changes.append(change + _CYCLE_US)
            self._probed_until = step_end_us // SECOND_US

    def _first_second_with(self, offset: int, *, after: int, until: int) -> int:
        """The first second in (after, until] from which `offset` holds, `until` holding it."""
        low, high = after, until
        while high - low > 1:
            middle = (low + high) // 2
            if self._probe(middle) == offset:
                high = middle
            else:
                low = middle
        return high

    def _ensure(self, until_us: int) -> None:
        if until_us > self._probed_until * SECOND_US:
            self._extend(until_us)

    def stretch(self, instant_us: int) -> Piece:
        """The run of one offset around an instant, as (start, end, offset); known to 4 days past the instant."""
        self._ensure(instant_us + 4 * DAY_US)
        index = bisect_right(self._changes, instant_us)
        start = self._changes[index - 1] if index else EARLIEST_US
        end = self._changes[index] if index < len(self._changes) else self._probed_until * SECOND_US
        return start, end, self._offsets[index]

    def pieces(self, start_us: int, end_us: int) -> list[Piece]:
        """[start, end) cut where the offset changes, as (start, end, offset) in order."""
        if start_us < EARLIEST_US:
            raise ValueError("wall-clock conversion starts a few days before 1970")
        self._ensure(end_us)
        index = bisect_right(self._changes, start_us)
        found: list[Piece] = []
        while index < len(self._changes) and self._changes[index] < end_us:
            found.append((start_us, self._changes[index], self._offsets[index]))
            start_us = self._changes[index]
            index += 1
        found.append((start_us, end_us, self._offsets[index]))
        return found

    def to_utc(self, local_start_us: int, local_end_us: int) -> list[Interval]:
        """The instants whose wall-clock time lies in [local_start, local_end), as ordered UTC intervals."""
        # A UTC offset is always less than a day, so no matching instant lies outside this window.
        window = self.pieces(local_start_us - DAY_US, local_end_us + DAY_US)
        found: list[Interval] = []
        for piece_start, piece_end, offset in window:
            start = max(piece_start, local_start_us - offset)
            end = min(piece_end, local_end_us - offset)
            if start < end:
                found.append((start, end))
        return found


@cache
def zone_offsets(zone_name: str) -> ZoneOffsets:
    """The offsets of a zone, shared by every caller in the process."""
    return ZoneOffsets(ZoneInfo(zone_name))
