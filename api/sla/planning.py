"""From a ticket's history and the config in force to the clock summary stored on its row."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.sla import policy
from api.sla_config.schema import SlaConfig
from api.tickets.statuses import STATUS_RANK


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A validated snapshot in UTC, comparable as content."""

    id: str
    updated_at: datetime
    priority: str
    customer_tier: str
    created_at: datetime
    status: str
    first_response_at: datetime | None

    def content(self) -> tuple[str, str, datetime, str, datetime | None]:
        """Everything but the key, to tell duplicates from conflicts."""
        return (self.priority, self.customer_tier, self.created_at, self.status, self.first_response_at)

    def rank(self) -> tuple[int, str, str, str, str]:
        """A total order on snapshots of one instant: the later status wins, then the content."""
        first_response = self.first_response_at.isoformat() if self.first_response_at else ""
        return (
            STATUS_RANK[self.status],
            self.priority,
            self.customer_tier,
            self.created_at.isoformat(),
            first_response,
        )


def plan_clocks(current: Snapshot, history: Iterable[Snapshot], config: SlaConfig) -> dict[str, Any]:
    """The clock columns of a ticket row: phase, elapsed, running start, target and deadlines."""
    changes = [policy.StatusChange(s.updated_at, s.status, s.first_response_at) for s in history]
    progress = {
        "response": policy.response_progress(current.created_at, changes),
        "resolution": policy.resolution_progress(current.created_at, changes, config.pause_statuses),
    }
    columns: dict[str, Any] = {}
    for clock, clock_progress in progress.items():
        target = config.target(current.priority, current.customer_tier, clock)  # type: ignore[arg-type]
        due = policy.deadlines(clock_progress, target)
        columns[f"{clock}_phase"] = clock_progress.phase
        columns[f"{clock}_elapsed_us"] = clock_progress.elapsed_us
        columns[f"{clock}_running_since"] = clock_progress.running_since
        columns[f"{clock}_target_us"] = target.target_us
        columns[f"{clock}_alert_at"] = due.alert_at
        columns[f"{clock}_due_at"] = due.due_at
    return columns
