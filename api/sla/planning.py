"""From a ticket's history and the config in force to the clock summary stored on its row."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from api.kit.statuses import STATUS_RANK
from api.sla import business_time, policy
from api.sla.business_time import Timeline
from api.sla_config.calendars import ALWAYS_OPEN_NAME
from api.sla_config.schema import ClockTarget, SlaConfig


class SnapshotFields(Protocol):
    """What planning reads of a snapshot: a validated request or a stored history row."""

    @property
    def id(self) -> str: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def priority(self) -> str: ...
    @property
    def customer_tier(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def first_response_at(self) -> datetime | None: ...


# Not slotted: ingestion reads the fields of both kinds of snapshot through __dict__.
@dataclass(frozen=True)
class Snapshot:
    """A stored snapshot in UTC, as read back from the history."""

    id: str
    updated_at: datetime
    priority: str
    customer_tier: str
    created_at: datetime
    status: str
    first_response_at: datetime | None


def content(snapshot: SnapshotFields) -> tuple[str, str, datetime, str, datetime | None]:
    """Everything but the key, to tell duplicates from conflicts."""
    return (snapshot.priority, snapshot.customer_tier, snapshot.created_at, snapshot.status, snapshot.first_response_at)


def rank(snapshot: SnapshotFields) -> tuple[int, str, str, str, str]:
    """A total order on snapshots of one instant: the later status wins, then the content."""
    first_response = snapshot.first_response_at.isoformat() if snapshot.first_response_at else ""
    return (
        STATUS_RANK[snapshot.status],
        snapshot.priority,
        snapshot.customer_tier,
        snapshot.created_at.isoformat(),
        first_response,
    )


def timeline_of(config: SlaConfig, priority: str, tier: str) -> Timeline:
    """The timeline of the calendar a priority x tier counts in."""
    return business_time.timeline_for(config.calendar_of(priority, tier))


def _columns(clock: str, progress: policy.ClockProgress, target: ClockTarget, timeline: Timeline) -> dict[str, Any]:
    due = policy.deadlines(progress, target, timeline)
    return {
        f"{clock}_phase": progress.phase,
        f"{clock}_elapsed_us": progress.elapsed_us(timeline),
        f"{clock}_running_since": progress.running_since,
        f"{clock}_target_us": target.target_us,
        f"{clock}_alert_at": due.alert_at,
        f"{clock}_due_at": due.due_at,
        f"{clock}_stopped_at": progress.stopped_at,
    }


def is_always_open(config: SlaConfig, priority: str, tier: str) -> bool:
    """Whether the clocks of a priority x tier count every instant (the built-in 24x7 calendar)."""
    return config.clock_targets[(priority, tier, "response")].calendar == ALWAYS_OPEN_NAME


def plan_clocks(current: SnapshotFields, history: Iterable[SnapshotFields], config: SlaConfig) -> dict[str, Any]:
    """The clock columns of a ticket row: phase, elapsed, running start, target, deadlines and stop."""
    changes = [policy.StatusChange(s.updated_at, s.status, s.first_response_at) for s in history]
    timeline = timeline_of(config, current.priority, current.customer_tier)
    targets = config.clock_targets
    segment = (current.priority, current.customer_tier)
    return {
        **_columns(
            "response",
            policy.response_progress(current.created_at, changes),
            targets[(*segment, "response")],
            timeline,
        ),
        **_columns(
            "resolution",
            policy.resolution_progress(current.created_at, changes, config.pause_statuses),
            targets[(*segment, "resolution")],
            timeline,
        ),
    }


@dataclass(frozen=True, slots=True)
class StoredClock:
    """One clock's summary as a ticket row stores it."""

    phase: policy.Phase
    elapsed_us: int
    running_since: datetime | None
    alert_at: datetime | None
    due_at: datetime | None
    stopped_at: datetime | None


def _advance_response(
    stored: StoredClock, created_at: datetime, later: Sequence[SnapshotFields]
) -> policy.ClockProgress:
    """The response clock after snapshots newer than every stored one, from its summary alone."""
    # The clock stops at the earliest of every first response and every status other than open:
    # the stored stop is the earliest the stored snapshots gave, so the new snapshots can only move it earlier.
    stops = [s.first_response_at for s in later if s.first_response_at is not None]
    stops += [s.updated_at for s in later if s.status != "open"]
    if stored.phase == "stopped" and stored.stopped_at is not None:
        stops.append(stored.stopped_at)
    if not stops:
        return policy.ClockProgress(phase="running", closed_segments=(), running_since=created_at)
    stop = max(min(stops), created_at)
    return policy.ClockProgress(
        phase="stopped", closed_segments=((created_at, stop),), running_since=None, stopped_at=stop
    )


def _advance_resolution(
    stored: StoredClock,
    later: Sequence[SnapshotFields],
    pause_statuses: frozenset[str],
    target: ClockTarget,
    timeline: Timeline,
) -> dict[str, Any]:
    """The resolution clock's columns after snapshots newer than every stored one, from its summary alone.

    A threshold the stored counted time already passed was crossed in a segment the summary no
    longer holds: its stored instant stands. Others are crossed in the segments these snapshots
    close, or projected from the segment still running.
    """
    phase, elapsed, running_since, stopped_at = stored.phase, stored.elapsed_us, stored.running_since, stored.stopped_at
    crossed: dict[int, datetime | None] = {
        threshold: kept if threshold <= elapsed else None
        for threshold, kept in ((target.alert_us, stored.alert_at), (target.target_us, stored.due_at))
    }
    for snapshot in later:
        next_phase = policy.phase_of(snapshot.status, pause_statuses)
        if running_since is not None and next_phase != "running":
            length = timeline.elapsed(running_since, snapshot.updated_at)
            for threshold in crossed:
                if elapsed < threshold <= elapsed + length:
                    crossed[threshold] = timeline.advance(running_since, threshold - elapsed)
            elapsed += length
            running_since = None
        elif running_since is None and next_phase == "running":
            running_since = snapshot.updated_at
        if next_phase == "stopped" and phase != "stopped":
            stopped_at = snapshot.updated_at
        elif next_phase != "stopped":
            stopped_at = None
        phase = next_phase
    for threshold in crossed:
        if running_since is not None and threshold > elapsed:
            crossed[threshold] = timeline.advance(running_since, threshold - elapsed)
    return {
        "resolution_phase": phase,
        "resolution_elapsed_us": elapsed,
        "resolution_running_since": running_since,
        "resolution_target_us": target.target_us,
        "resolution_alert_at": crossed[target.alert_us],
        "resolution_due_at": crossed[target.target_us],
        "resolution_stopped_at": stopped_at,
    }


def advance_clocks(
    stored: dict[str, StoredClock],
    created_at: datetime,
    later: Sequence[SnapshotFields],
    current: SnapshotFields,
    config: SlaConfig,
) -> dict[str, Any]:
    """The clock columns of a ticket after snapshots newer than all it stored, without its history.

    Exact as a replay when the stored row counted under the same rules and the ticket keeps its
    creation instant, priority and tier; the caller replays the history otherwise.
    """
    ordered = sorted(later, key=lambda snapshot: snapshot.updated_at)
    targets = config.clock_targets
    timeline = timeline_of(config, current.priority, current.customer_tier)
    segment = (current.priority, current.customer_tier)
    response = _advance_response(stored["response"], created_at, ordered)
    return {
        **_columns("response", response, targets[(*segment, "response")], timeline),
        **_advance_resolution(
            stored["resolution"], ordered, config.pause_statuses, targets[(*segment, "resolution")], timeline
        ),
    }
