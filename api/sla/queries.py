"""Reads of SLA events and the dashboard summary."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from api.errors import InvalidInput, problem
from api.sla.models import SlaEvent
from api.sla.schemas import (
    ClockCompliance,
    DashboardSummary,
    HourlyEvents,
    SegmentSummary,
    StateCounts,
)
from api.tickets import counts
from api.tickets.queries import decode_cursor, encode_cursor

EVENTS_BY_HOUR = text("""
    SELECT date_trunc('hour', detected_at) AS hour,
           count(*) FILTER (WHERE kind = 'alert') AS alerts,
           count(*) FILTER (WHERE kind = 'breach') AS breaches
    FROM sla_events
    WHERE detected_at > :since
    GROUP BY 1
    ORDER BY 1
""")


def _ratio(met: int, breached: int) -> float | None:
    return met / (met + breached) if met + breached else None


def events_of(session: Session, ticket_id: str) -> list[SlaEvent]:
    """Every event of one ticket, in the order they fell due."""
    query = select(SlaEvent).where(SlaEvent.ticket_id == ticket_id).order_by(SlaEvent.due_at, SlaEvent.id)
    return list(session.scalars(query))


def list_events(
    session: Session,
    *,
    limit: int,
    cursor: str | None = None,
    kind: Sequence[Literal["alert", "breach"]] = (),
    clock: Sequence[Literal["response", "resolution"]] = (),
    since: datetime | None = None,
    ticket_id: str | None = None,
) -> tuple[list[SlaEvent], str | None]:
    """A page of events, newest detection first, and the cursor of the next page."""
    query = select(SlaEvent)
    if kind:
        query = query.where(SlaEvent.kind.in_(kind))
    if clock:
        query = query.where(SlaEvent.clock.in_(clock))
    if since is not None:
        query = query.where(SlaEvent.detected_at >= since)
    if ticket_id is not None:
        query = query.where(SlaEvent.ticket_id == ticket_id)
    if cursor is not None:
        detected, last_id = decode_cursor(cursor)
        if detected is None or not isinstance(last_id, int):
            raise InvalidInput(detail=[problem(["query", "cursor"], "not a cursor returned by this API", "cursor")])
        query = query.where(
            or_(SlaEvent.detected_at < detected, and_(SlaEvent.detected_at == detected, SlaEvent.id < last_id))
        )
    query = query.order_by(SlaEvent.detected_at.desc(), SlaEvent.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].detected_at.isoformat(), rows[-1].id])
    return rows, next_cursor


def summary(session: Session, *, now: datetime) -> DashboardSummary:
    """Counts by SLA state (as recorded events tell it) and by priority x tier, compliance, events of the last 24 h."""
    segments = []
    totals = StateCounts()
    total_tickets = open_tickets = 0
    met = {"response": 0, "resolution": 0}
    breached = {"response": 0, "resolution": 0}
    for row in session.execute(counts.SEGMENT_COUNTS):
        total_tickets += row.total
        open_tickets += row.open
        totals.breached += row.breached
        totals.at_risk += row.at_risk
        totals.ok += row.open - row.breached - row.at_risk
        for clock in ("response", "resolution"):
            met[clock] += getattr(row, f"{clock}_met")
            breached[clock] += getattr(row, f"{clock}_breached")
        segments.append(
            SegmentSummary(
                priority=row.priority,
                customer_tier=row.customer_tier,
                open=row.open,
                at_risk=row.at_risk,
                breached=row.breached,
                response_compliance=_ratio(row.response_met, row.response_breached),
                resolution_compliance=_ratio(row.resolution_met, row.resolution_breached),
            )
        )
    hourly = [
        HourlyEvents(hour=row.hour, alerts=row.alerts, breaches=row.breaches)
        for row in session.execute(EVENTS_BY_HOUR, {"since": now - timedelta(hours=24)})
    ]
    return DashboardSummary(
        generated_at=now,
        total_tickets=total_tickets,
        open_tickets=open_tickets,
        by_state=totals,
        by_priority_tier=segments,
        events_last_24h={
            "alert": sum(hour.alerts for hour in hourly),
            "breach": sum(hour.breaches for hour in hourly),
        },
        events_by_hour=hourly,
        compliance={
            clock: ClockCompliance(
                met=met[clock], breached=breached[clock], compliance=_ratio(met[clock], breached[clock])
            )
            for clock in ("response", "resolution")
        },
    )
