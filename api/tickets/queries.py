"""Reads of tickets: filtered keyset pages sorted by nearest deadline, and one ticket in full."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from api.kit.paging import decode_cursor, encode_cursor, invalid_cursor
from api.models import Ticket, TicketSnapshot
from api.sla.state import SlaStateFilter, sla_state_condition


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


def newest_history(session: Session, ticket_id: str, *, limit: int) -> list[TicketSnapshot]:
    """The newest `limit` stored snapshots of a ticket, oldest first among them."""
    query = (
        select(TicketSnapshot)
        .where(TicketSnapshot.ticket_id == ticket_id)
        .order_by(TicketSnapshot.updated_at.desc())
        .limit(limit)
    )
    return list(reversed(list(session.scalars(query))))


def history_total(session: Session, ticket_id: str) -> int:
    """How many snapshots of a ticket are stored."""
    query = select(func.count()).select_from(TicketSnapshot).where(TicketSnapshot.ticket_id == ticket_id)
    return int(session.scalar(query) or 0)


def history_page(
    session: Session, ticket_id: str, *, limit: int, cursor: str | None = None
) -> tuple[list[TicketSnapshot], str | None]:
    """A page of a ticket's stored snapshots, oldest first, and the cursor of the next page."""
    query = select(TicketSnapshot).where(TicketSnapshot.ticket_id == ticket_id)
    if cursor is not None:
        after, last_id = decode_cursor(cursor)
        if after is None or last_id != ticket_id:
            raise invalid_cursor()
        query = query.where(TicketSnapshot.updated_at > after)
    rows = list(session.scalars(query.order_by(TicketSnapshot.updated_at).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].updated_at.isoformat(), ticket_id])
    return rows, next_cursor
