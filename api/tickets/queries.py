"""Reads of tickets: filtered keyset pages sorted by nearest deadline, and one ticket in full."""

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from api.errors import InvalidInput, problem
from api.sla import policy
from api.sla.schemas import ClockPublic
from api.tickets.models import Ticket, TicketSnapshot

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


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor from the sort key of the last item of a page."""
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode()


def decode_cursor(cursor: str) -> tuple[datetime | None, Any]:
    """The (instant, id) sort key inside a cursor, or a 422 naming the cursor parameter."""
    try:
        instant_text, last_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        instant = None if instant_text is None else datetime.fromisoformat(instant_text)
        if not isinstance(last_id, str | int) or (instant is not None and instant.tzinfo is None):
            raise ValueError(cursor)
    except (ValueError, TypeError):
        raise InvalidInput(
            detail=[problem(["query", "cursor"], "not a cursor returned by this API", "cursor")]
        ) from None
    return instant, last_id


def clock_view(ticket: Ticket, clock: policy.ClockName, now: datetime) -> ClockPublic:
    """One clock of a stored ticket at `now`."""
    phase: policy.Phase = getattr(ticket, f"{clock}_phase")
    target_us: int = getattr(ticket, f"{clock}_target_us")
    due_at: datetime | None = getattr(ticket, f"{clock}_due_at")
    elapsed_us = policy.elapsed_at(
        phase=phase,
        elapsed_us=getattr(ticket, f"{clock}_elapsed_us"),
        running_since=getattr(ticket, f"{clock}_running_since"),
        now=now,
    )
    return ClockPublic(
        target_seconds=target_us // 1_000_000,
        elapsed_seconds=elapsed_us / 1_000_000,
        remaining_seconds=(target_us - elapsed_us) / 1_000_000,
        due_at=due_at,
        alert_at=getattr(ticket, f"{clock}_alert_at"),
        state=policy.clock_state(phase=phase, due_at=due_at, now=now),
    )


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


def list_tickets(
    session: Session,
    *,
    now: datetime,
    limit: int,
    cursor: str | None = None,
    status: Sequence[str] = (),
    priority: Sequence[str] = (),
    customer_tier: Sequence[str] = (),
    sla_state: Sequence[SlaStateFilter] = (),
) -> tuple[list[Ticket], str | None]:
    """A page of tickets, nearest deadline first (no deadline last), and the cursor of the next."""
    query = select(Ticket)
    if status:
        query = query.where(Ticket.status.in_(status))
    if priority:
        query = query.where(Ticket.priority.in_(priority))
    if customer_tier:
        query = query.where(Ticket.customer_tier.in_(customer_tier))
    if sla_state:
        query = query.where(or_(*(sla_state_condition(state, now) for state in sla_state)))
    if cursor is not None:
        deadline, last_id = decode_cursor(cursor)
        if deadline is None:
            query = query.where(Ticket.deadline_at.is_(None), Ticket.id > str(last_id))
        else:
            query = query.where(
                or_(
                    Ticket.deadline_at > deadline,
                    and_(Ticket.deadline_at == deadline, Ticket.id > str(last_id)),
                    Ticket.deadline_at.is_(None),
                )
            )
    query = query.order_by(Ticket.deadline_at.asc().nulls_last(), Ticket.id).limit(limit + 1)
    rows = list(session.scalars(query))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([last.deadline_at.isoformat() if last.deadline_at else None, last.id])
    return rows, next_cursor


def get_ticket(session: Session, ticket_id: str) -> Ticket | None:
    """One ticket, or None."""
    return session.get(Ticket, ticket_id)


def history(session: Session, ticket_id: str) -> list[TicketSnapshot]:
    """Every stored snapshot of a ticket, oldest first."""
    query = select(TicketSnapshot).where(TicketSnapshot.ticket_id == ticket_id).order_by(TicketSnapshot.updated_at)
    return list(session.scalars(query))
