"""Ticket statuses, in the order that settles two snapshots of one instant."""

from typing import Final, Literal

Status = Literal["open", "in_progress", "pending", "resolved", "closed"]

STATUS_ORDER: Final[tuple[Status, ...]] = (
    "open",
    "in_progress",
    "pending",
    "resolved",
    "closed",
)
STATUS_RANK: Final[dict[str, int]] = {status: rank for rank, status in enumerate(STATUS_ORDER)}
STOPPED_STATUSES: Final[frozenset[str]] = frozenset({"resolved", "closed"})
PAUSABLE_STATUSES: Final[frozenset[str]] = frozenset({"open", "in_progress", "pending"})

# The SQL condition of an open ticket, on the `status` column of the table in scope.
OPEN_STATUS_SQL: Final = "status NOT IN ('resolved', 'closed')"
