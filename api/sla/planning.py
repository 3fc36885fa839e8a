"""From a ticket's history and the config in force to the clock summary stored on its row."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from api.kit.statuses import STATUS_RANK
from api.sla import policy
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


def plan_clocks(current: SnapshotFields, history: Iterable[SnapshotFields], config: SlaConfig) -> dict[str, Any]:
    """The clock columns of a ticket row: phase, elapsed, running start, target and deadlines."""
    changes = [policy.StatusChange(s.updated_at, s.status, s.first_response_at) for s in history]
    progress = {
        "response": policy.response_progress(current.created_at, changes),
        "resolution": policy.resolution_progress(current.created_at, changes, config.pause_statuses),
    }
    columns: dict[str, Any] = {}
    targets = config.clock_targets
    for clock, clock_progress in progress.items():
        target = targets[(current.priority, current.customer_tier, clock)]
        due = policy.deadlines(clock_progress, target)
        columns[f"{clock}_phase"] = clock_progress.phase
        columns[f"{clock}_elapsed_us"] = clock_progress.elapsed_us
        columns[f"{clock}_running_since"] = clock_progress.running_since
        columns[f"{clock}_target_us"] = target.target_us
        columns[f"{clock}_alert_at"] = due.alert_at
        columns[f"{clock}_due_at"] = due.due_at
    return columns


@dataclass(frozen=True, slots=True)
class StoredClock:
    """One clock's summary as a ticket row stores it."""

    phase: policy.Phase
    elapsed_us: int
    running_since: datetime | None
    alert_at: datetime | None
    due_at: datetime | None


def _advance_response(
    stored: StoredClock, created_at: datetime, later: Sequence[SnapshotFields]
) -> policy.ClockProgress:
    """The response clock after snapshots newer than every stored one, from its summary alone."""
    # The clock stops at the earliest of every first response and every status other than open:
    # the stored stop is the earliest the stored snapshots gave, so the new snapshots can only move it earlier.
    stops = [s.first_response_at for s in later if s.first_response_at is not None]
    stops += [s.updated_at for s in later if s.status != "open"]
    if stored.phase == "stopped":
        stops.append(created_at + stored.elapsed_us * policy.MICROSECOND)
    if not stops:
        return policy.ClockProgress(phase="running", closed_segments=(), running_since=created_at)
    stop = max(min(stops), created_at)
    return policy.ClockProgress(phase="stopped", closed_segments=((created_at, stop),), running_since=None)


def _advance_resolution(
    stored: StoredClock, later: Sequence[SnapshotFields], pause_statuses: frozenset[str], target: ClockTarget
) -> dict[str, Any]:
    """The resolution clock's columns after snapshots newer than every stored one, from its summary alone.

    A threshold the stored running time already passed was crossed in a segment the summary no
    longer holds: its stored instant stands. Others are crossed in the segments these snapshots
    close, or projected from the segment still running.
    """
    phase, elapsed, running_since = stored.phase, stored.elapsed_us, stored.running_since
    crossed: dict[int, datetime | None] = {
        threshold: kept if threshold <= elapsed else None
        for threshold, kept in ((target.alert_us, stored.alert_at), (target.target_us, stored.due_at))
    }
    for snapshot in later:
        next_phase = policy.phase_of(snapshot.status, pause_statuses)
        if running_since is not None and next_phase != "running":
            length = (snapshot.updated_at - running_since) // policy.MICROSECOND
            for threshold in crossed:
                if elapsed < threshold <= elapsed + length:
                    crossed[threshold] = running_since + (threshold - elapsed) * policy.MICROSECOND
            elapsed += length
            running_since = None
        elif running_since is None and next_phase == "running":
            running_since = snapshot.updated_at
        phase = next_phase
    for threshold in crossed:
        if running_since is not None and threshold > elapsed:
            crossed[threshold] = running_since + (threshold - elapsed) * policy.MICROSECOND
    return {
        "resolution_phase": phase,
        "resolution_elapsed_us": elapsed,
        "resolution_running_since": running_since,
        "resolution_target_us": target.target_us,
        "resolution_alert_at": crossed[target.alert_us],
        "resolution_due_at": crossed[target.target_us],
    }


def advance_clocks(
    stored: dict[str, StoredClock],
    created_at: datetime,
    later: Sequence[SnapshotFields],
    current: SnapshotFields,
    config: SlaConfig,
) -> dict[str, Any]:
    """The clock columns of a ticket after snapshots newer than all it stored, without its history.

    Exact as a replay when the stored row counted under the same targets and the ticket keeps its
    creation instant, priority and tier; the caller replays the history otherwise.
    """
    ordered = sorted(later, key=lambda snapshot: snapshot.updated_at)
    targets = config.clock_targets
    response_target = targets[(current.priority, current.customer_tier, "response")]
    response = _advance_response(stored["response"], created_at, ordered)
    due = policy.deadlines(response, response_target)
    return {
        "response_phase": response.phase,
        "response_elapsed_us": response.elapsed_us,
        "response_running_since": response.running_since,
        "response_target_us": response_target.target_us,
        "response_alert_at": due.alert_at,
        "response_due_at": due.due_at,
        **_advance_resolution(
            stored["resolution"],
            ordered,
            config.pause_statuses,
            targets[(current.priority, current.customer_tier, "resolution")],
        ),
    }
