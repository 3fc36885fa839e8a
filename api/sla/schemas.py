"""Response models of clocks, events and the summary."""

from datetime import datetime
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
    at_risk: int
    breached: int
    response_compliance: float | None
    resolution_compliance: float | None


class ClockCompliance(BaseModel):
    """Met / (met + breached) of one clock, over every ticket whose clock finished or breached."""

    met: int
    breached: int
    compliance: float | None


class HourlyEvents(BaseModel):
    """Events recorded in one hour."""

    hour: datetime
    alerts: int
    breaches: int


class DashboardSummary(BaseModel):
    """The figures of the dashboard's overview."""

    generated_at: datetime
    total_tickets: int
    open_tickets: int
    by_state: StateCounts
    by_priority_tier: list[SegmentSummary]
    events_last_24h: dict[Literal["alert", "breach"], int]
    events_by_hour: list[HourlyEvents]
    compliance: dict[Literal["response", "resolution"], ClockCompliance]
