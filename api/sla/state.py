"""A ticket's clocks and SLA state at an instant, from its stored row: one definition for every view.

`sla_state_condition` is the same definition as a WHERE clause, so list filters agree with it.
"""

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_

from api.models import Ticket
from api.sla import business_time, policy
from api.sla.business_time import OutsideTimeline, Timeline
from api.sla.schemas import ClockPublic
from api.sla_config.calendars import ALWAYS_OPEN_NAME, calendar_named
from api.sla_config.schema import ClockName, SlaConfig

SlaStateFilter = Literal["ok", "at_risk", "breached"]


def _passed(column: Any, now: datetime) -> ColumnElement[bool]:
    return and_(column.is_not(None), column <= now)


def _pending(column: Any, now: datetime) -> ColumnElement[bool]:
    return or_(column.is_(None), column > now)


def sla_state_condition(state: SlaStateFilter, now: datetime) -> ColumnElement[bool]:
    """The WHERE clause of one SLA state, on the indexed breach_at and risk_at columns."""
    if state == "breached":
        return _passed(Ticket.breach_at, now)
    if state == "at_risk":
        return and_(_passed(Ticket.risk_at, now), _pending(Ticket.breach_at, now))
    return and_(_pending(Ticket.risk_at, now), _pending(Ticket.breach_at, now))


def calendar_name(config: SlaConfig, ticket: Ticket) -> str:
    """The calendar a ticket's clocks count in (a finished ticket's segment may have left the config)."""
    pair = config.targets.get(ticket.priority, {}).get(ticket.customer_tier)
    if pair is None:
        return ALWAYS_OPEN_NAME
    return pair.calendar or config.calendar


def clock_view(ticket: Ticket, clock: ClockName, now: datetime, calendar: str, timeline: Timeline) -> ClockPublic:
    """One clock of a stored ticket at `now`, counted on its calendar's timeline."""
    phase: policy.Phase = getattr(ticket, f"{clock}_phase")
    target_us: int = getattr(ticket, f"{clock}_target_us")
    due_at: datetime | None = getattr(ticket, f"{clock}_due_at")
    elapsed_us = policy.elapsed_at(
        phase=phase,
        elapsed_us=getattr(ticket, f"{clock}_elapsed_us"),
        running_since=getattr(ticket, f"{clock}_running_since"),
        now=now,
        timeline=timeline,
    )
    counting = phase == "running" and _open(timeline, now)
    return ClockPublic(
        target_seconds=target_us // 1_000_000,
        elapsed_seconds=elapsed_us / 1_000_000,
        remaining_seconds=(target_us - elapsed_us) / 1_000_000,
        due_at=due_at,
        alert_at=getattr(ticket, f"{clock}_alert_at"),
        state=policy.clock_state(phase=phase, due_at=due_at, now=now),
        calendar=calendar,
        counting=counting,
        counts_again_at=None if counting or phase != "running" else _next_opening(timeline, now),
    )


def _open(timeline: Timeline, now: datetime) -> bool:
    try:
        return timeline.is_open(now)
    except OutsideTimeline:
        return False


def _next_opening(timeline: Timeline, now: datetime) -> datetime | None:
    try:
        return timeline.next_opening(now)
    except OutsideTimeline:
        return None


def clock_views(ticket: Ticket, now: datetime, config: SlaConfig) -> dict[ClockName, ClockPublic]:
    """Both clocks of a stored ticket at `now`, under the config in force."""
    name = calendar_name(config, ticket)
    timeline = business_time.timeline_for(calendar_named(config.calendars, name))
    return {clock: clock_view(ticket, clock, now, name, timeline) for clock in policy.CLOCKS}


def ticket_sla_state(ticket: Ticket, now: datetime) -> policy.SlaState:
    """The SLA state of a stored ticket at `now`."""
    return policy.sla_state(
        (
            (
                getattr(ticket, f"{clock}_phase"),
                getattr(ticket, f"{clock}_alert_at"),
                getattr(ticket, f"{clock}_due_at"),
            )
            for clock in policy.CLOCKS
        ),
        now,
    )


def sla_state_of(columns: dict[str, Any], now: datetime) -> policy.SlaState:
    """The SLA state at `now` of clock columns as planning makes them."""
    return policy.sla_state(
        (
            (columns[f"{clock}_phase"], columns[f"{clock}_alert_at"], columns[f"{clock}_due_at"])
            for clock in policy.CLOCKS
        ),
        now,
    )
