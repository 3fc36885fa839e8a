"""Request and response models of the ticket endpoints."""

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator

from api.kit.statuses import Status
from api.kit.timestamps import Timestamp
from api.sla.schemas import ClockPublic, EventPublic

# No control characters; checked by pydantic itself, which words the error as a pattern mismatch.
ID_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
ID_PATTERN_MESSAGE = "id must not contain control characters"


def _integer_id(value: Any) -> Any:
    """Zendesk and Freshdesk number their tickets: an integer id is kept as its decimal string."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


TicketId = Annotated[
    str,
    BeforeValidator(_integer_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": 200, "pattern": ID_PATTERN},
                {"type": "integer", "minimum": -(10**199), "maximum": 10**199},
            ]
        }
    ),
]


class SnapshotIn(BaseModel):
    """The state of one ticket at the instant `updated_at`, as the ticketing tool sends it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: TicketId = Field(
        min_length=1,
        max_length=200,
        pattern=ID_PATTERN,
        description="the ticket's id in the ticketing tool; a JSON integer is stored as its decimal string",
    )
    priority: str = Field(description="a priority named in the SLA config")
    customer_tier: str = Field(description="a customer tier named in the SLA config")
    created_at: Timestamp = Field(description="RFC 3339 with offset")
    updated_at: Timestamp = Field(description="RFC 3339 with offset, not before created_at")
    status: Status
    first_response_at: Timestamp | None = Field(default=None, description="stops the response clock")

    @field_validator("updated_at")
    @classmethod
    def _not_before_creation(cls, value: datetime, info: ValidationInfo) -> datetime:
        created_at = info.data.get("created_at")
        if created_at is not None and value < created_at:
            raise ValueError("updated_at must not be before created_at")
        return value

    @field_validator("first_response_at")
    @classmethod
    def _response_after_creation(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        created_at = info.data.get("created_at")
        if value is not None and created_at is not None and value < created_at:
            raise ValueError("first_response_at must not be before created_at")
        return value


FIELD_ORDER = {name: position for position, name in enumerate(SnapshotIn.model_fields)}


def unknown_segment_problems(snapshot: Any, priorities: Sequence[str], tiers: Sequence[str]) -> list[tuple[str, str]]:
    """(field, message) for a priority or tier the config does not name; `snapshot` is a model or raw JSON.

    Checked after the model, in one pass over the batch: a validator per field and snapshot cost
    more than the rest of validation together.
    """
    found = []
    for name, allowed, label in (("priority", priorities, "priority"), ("customer_tier", tiers, "customer tier")):
        value = snapshot.get(name) if isinstance(snapshot, dict) else getattr(snapshot, name, None)
        if isinstance(value, str) and value not in allowed:
            found.append((name, f"unknown {label} {value!r}; the SLA config names {', '.join(allowed)}"))
    return found


Outcome = Literal["created", "updated", "unchanged", "stale", "conflict"]


class SnapshotOutcome(BaseModel):
    """What happened to one snapshot of the batch, in the order they were sent."""

    id: str
    outcome: Outcome


class IngestResult(BaseModel):
    """Counts per outcome and the outcome of every snapshot."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    conflict: int = 0
    results: list[SnapshotOutcome]


class SnapshotPublic(BaseModel):
    """A stored snapshot."""

    id: str
    priority: str
    customer_tier: str
    created_at: datetime
    updated_at: datetime
    status: Status
    first_response_at: datetime | None
    received_at: datetime


class HistoryItem(SnapshotPublic):
    """A snapshot of a ticket's history, with the name of the key it came through."""

    source: str | None


class TicketPublic(SnapshotPublic):
    """A ticket's current snapshot and its SLA state."""

    sla_state: Literal["ok", "at_risk", "breached"]
    config_version: int


class TicketListItem(TicketPublic):
    """A ticket with both clocks, as listed."""

    clocks: dict[Literal["response", "resolution"], ClockPublic]


class TicketPage(BaseModel):
    """One page of tickets, nearest deadline first."""

    items: list[TicketListItem]
    next_cursor: str | None


class TicketDetail(BaseModel):
    """A ticket, its clocks, its newest 1,000 snapshots (oldest first) and its events."""

    ticket: TicketPublic
    clocks: dict[Literal["response", "resolution"], ClockPublic]
    history: list[HistoryItem]
    history_total: int
    events: list[EventPublic]


class HistoryPage(BaseModel):
    """One page of a ticket's snapshots, oldest first."""

    items: list[HistoryItem]
    next_cursor: str | None
