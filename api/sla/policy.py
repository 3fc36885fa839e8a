"""Pure SLA clock arithmetic: from a ticket's status history, a target and a calendar to deadlines and states.

Nothing here reads the time or the database; callers pass `now`. A clock runs by the ticket's
statuses and counts only while its calendar is open: its running intervals are real instants,
its elapsed time is business time on the calendar's timeline (`api/sla/business_time.py`), and
its deadlines are the real instants at which the counted time reaches each threshold. All
durations are integer microseconds so that the Python and SQL paths agree to the last digit.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from api.kit.statuses import STOPPED_STATUSES
from api.sla.business_time import Timeline
from api.sla_config.schema import ClockName, ClockTarget

MICROSECOND: Final = timedelta(microseconds=1)

Phase = Literal["running", "paused", "stopped"]
ClockState = Literal["running", "paused", "met", "breached"]
SlaState = Literal["ok", "at_risk", "breached"]
CLOCKS: Final[tuple[ClockName, ...]] = ("response", "resolution")


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One snapshot of the history, reduced to what the clocks need."""

    at: datetime
    status: str
    first_response_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClockProgress:
    """The running intervals of one clock, oldest first; the last is open while it runs."""

    phase: Phase
    closed_segments: tuple[tuple[datetime, datetime], ...]
    running_since: datetime | None
    # When the clock last stopped (resolved, closed, or answered): None while it runs or pauses.
    stopped_at: datetime | None = None

    def elapsed_us(self, timeline: Timeline) -> int:
        """Business time counted in the closed intervals."""
        return sum(timeline.elapsed(start, end) for start, end in self.closed_segments)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """When a clock's alert and breach fall due; None when it stopped short of them."""

    alert_at: datetime | None
    due_at: datetime | None


def _ordered(changes: Iterable[StatusChange]) -> list[StatusChange]:
    return sorted(changes, key=lambda change: change.at)


def response_progress(created_at: datetime, changes: Sequence[StatusChange]) -> ClockProgress:
    """The response clock runs from creation to the first response or first non-open status."""
    stops = [change.first_response_at for change in changes if change.first_response_at is not None]
    stops += [change.at for change in changes if change.status != "open"]
    if not stops:
        return ClockProgress(phase="running", closed_segments=(), running_since=created_at)
    stopped_at = max(min(stops), created_at)
    return ClockProgress(
        phase="stopped", closed_segments=((created_at, stopped_at),), running_since=None, stopped_at=stopped_at
    )


def phase_of(status: str, pause_statuses: frozenset[str]) -> Phase:
    """What the resolution clock does while a ticket has `status`."""
    if status in STOPPED_STATUSES:
        return "stopped"
    if status in pause_statuses:
        return "paused"
    return "running"


def resolution_progress(
    created_at: datetime,
    changes: Sequence[StatusChange],
    pause_statuses: frozenset[str],
) -> ClockProgress:
    """The resolution clock runs from creation, pauses in pause statuses and stops when resolved."""
    closed: list[tuple[datetime, datetime]] = []
    running_since: datetime | None = created_at
    phase: Phase = "running"
    stopped_at: datetime | None = None
    for change in _ordered(changes):
        at = max(change.at, created_at)
        next_phase = phase_of(change.status, pause_statuses)
        if running_since is not None and next_phase != "running":
            closed.append((running_since, at))
            running_since = None
        elif running_since is None and next_phase == "running":
            running_since = at
        if next_phase == "stopped" and phase != "stopped":
            stopped_at = at
        elif next_phase != "stopped":
            stopped_at = None
        phase = next_phase
    return ClockProgress(phase=phase, closed_segments=tuple(closed), running_since=running_since, stopped_at=stopped_at)


def crossing(progress: ClockProgress, elapsed_us: int, timeline: Timeline) -> datetime | None:
    """The instant at which the clock's counted time reached `elapsed_us`, or will if it runs on."""
    accumulated = 0
    for start, end in progress.closed_segments:
        length = timeline.elapsed(start, end)
        if accumulated + length >= elapsed_us:
            return timeline.advance(start, elapsed_us - accumulated)
        accumulated += length
    if progress.running_since is None:
        return None
    return timeline.advance(progress.running_since, elapsed_us - accumulated)


def deadlines(progress: ClockProgress, target: ClockTarget, timeline: Timeline) -> Deadlines:
    """The alert and breach instants of a clock under a target, counted on a calendar's timeline."""
    return Deadlines(
        alert_at=crossing(progress, target.alert_us, timeline),
        due_at=crossing(progress, target.target_us, timeline),
    )


def elapsed_at(
    *, phase: Phase, elapsed_us: int, running_since: datetime | None, now: datetime, timeline: Timeline
) -> int:
    """Counted time of a clock at `now`, from its stored summary."""
    if phase == "running" and running_since is not None and now > running_since:
        return elapsed_us + timeline.elapsed(running_since, now)
    return elapsed_us


def clock_state(*, phase: Phase, due_at: datetime | None, now: datetime) -> ClockState:
    """A clock is breached once its due instant has passed, whatever it does since."""
    if due_at is not None and due_at <= now:
        return "breached"
    if phase == "stopped":
        return "met"
    return phase


def sla_state(clocks: Iterable[tuple[Phase, datetime | None, datetime | None]], now: datetime) -> SlaState:
    """Summarise (phase, alert_at, due_at) of every clock into one ticket state."""
    at_risk = False
    for phase, alert_at, due_at in clocks:
        if due_at is not None and due_at <= now:
            return "breached"
        if phase != "stopped" and alert_at is not None and alert_at <= now:
            at_risk = True
    return "at_risk" if at_risk else "ok"
