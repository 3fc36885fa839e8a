"""Response models of clocks, events and the summary."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel


class ClockPublic(BaseModel):
    """One clock of a ticket at the instant of the request."""

    target_seconds: int
    elapsed_seconds: float
    remaining_seconds: float
    due_at: datetime | None
    alert_at: datetime | None
    state: Literal["running", "paused", "met", "breached"]
    calendar: str
    counting: bool
    counts_again_at: datetime | None = None


class EventPublic(BaseModel):
    """An alert or breach as recorded."""

    id: int
    ticket_id: str
    clock: Literal["response", "resolution"]
    kind: Literal["alert", "breach"]
    due_at: datetime
    detected_at: datetime
    target_seconds: int
    priority: str
    customer_tier: str
    config_version: int


class EventPage(BaseModel):
    """One page of events, newest first."""

    items: list[EventPublic]
    next_cursor: str | None


class StateCounts(BaseModel):
    """Open tickets by SLA state."""

    ok: int = 0
    at_risk: int = 0
    breached: int = 0


class SegmentSummary(BaseModel):
    """Figures of one priority x tier."""

    priority: str
    customer_tier: str
    open: int
    ok: int
    at_risk: int
    breached: int
    response_compliance: float | None
    resolution_compliance: float | None


class ClockCompliance(BaseModel):
    """Met / (met + breached) of one clock; None when no clock of it was decided."""

    met: int
    breached: int
    compliance: float | None


class BucketEvents(BaseModel):
    """Events that fell due in one hour or day (UTC), starting at `start`."""

    start: datetime
    alerts: int
    breaches: int


class DailyCompliance(BaseModel):
    """Compliance of the clocks decided on one UTC day: met that day, or due that day and breached."""

    day: date
    response: ClockCompliance
    resolution: ClockCompliance


class DashboardSummary(BaseModel):
    """The figures of the dashboard's overview at `generated_at`, over a window of 24 hours, 7 or 30 days."""

    generated_at: datetime
    window: Literal["24h", "7d", "30d"]
    bucket: Literal["hour", "day"]
    total_tickets: int
    open_tickets: int
    by_state: StateCounts
    by_priority_tier: list[SegmentSummary]
    events: dict[Literal["alert", "breach"], int]
    events_by_due: list[BucketEvents]
    compliance: dict[Literal["response", "resolution"], ClockCompliance]
    compliance_by_day: list[DailyCompliance]


class SegmentPreview(BaseModel):
    """What a candidate config would do to the open tickets of one priority x tier."""

    priority: str
    customer_tier: str
    open_tickets: int
    deadlines_moved: int
    newly_at_risk: int
    newly_breached: int
    no_longer_breached: int


class ConfigPreview(BaseModel):
    """What a candidate config would do to the open tickets, counted now against the config in force."""

    valid: Literal[True]
    open_tickets: int
    deadlines_moved: int
    newly_at_risk: int
    newly_breached: int
    no_longer_breached: int
    by_priority_tier: list[SegmentPreview]
