"""Reads of the SLA event log."""

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from api.kit.paging import decode_cursor, encode_cursor, invalid_cursor
from api.models import SlaEvent


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
    priority: Sequence[str] = (),
    customer_tier: Sequence[str] = (),
    after: int | None = None,
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
    if priority:
        query = query.where(SlaEvent.priority.in_(priority))
    if customer_tier:
        query = query.where(SlaEvent.customer_tier.in_(customer_tier))
    if after is not None:
        query = query.where(SlaEvent.id > after)
    if cursor is not None:
        detected, last_id = decode_cursor(cursor)
        if detected is None or not isinstance(last_id, int):
            raise invalid_cursor()
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
