"""From a ticket's history and the config in force to the clock summary stored on its row."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from api.kit.statuses import STATUS_RANK
from api.sla import policy
from api.sla_config.schema import SlaConfig


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
