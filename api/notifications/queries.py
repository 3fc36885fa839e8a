"""Reads and repairs of the outbox for the API: destinations with their counts, deliveries, retries."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.kit.channels import DELIVERIES_CHANNEL
from api.kit.paging import decode_cursor, encode_cursor, invalid_cursor
from api.models import NotificationDelivery, NotificationDestination


def announce(session: Session) -> None:
    """Wake every process's delivery worker when this transaction commits."""
    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": DELIVERIES_CHANNEL})


def counts(session: Session) -> dict[str, dict[str, int]]:
    """Deliveries per destination and status."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: {"pending": 0, "delivered": 0, "dead": 0})
    query = select(NotificationDelivery.destination, NotificationDelivery.status, func.count()).group_by(
        NotificationDelivery.destination, NotificationDelivery.status
    )
    for destination, status, count in session.execute(query):
        found[destination][status] = count
    return found


def states(session: Session) -> dict[str, NotificationDestination]:
    """The recorded state of each destination that was ever disabled."""
    return {row.name: row for row in session.scalars(select(NotificationDestination))}


def list_deliveries(
    session: Session,
    *,
    limit: int,
    cursor: str | None = None,
    status: Sequence[str] = (),
    destination: Sequence[str] = (),
    event_id: int | None = None,
) -> tuple[list[NotificationDelivery], str | None]:
    """A page of deliveries, newest first, and the cursor of the next page."""
    query = select(NotificationDelivery)
    if status:
        query = query.where(NotificationDelivery.status.in_(status))
    if destination:
        query = query.where(NotificationDelivery.destination.in_(destination))
    if event_id is not None:
        query = query.where(NotificationDelivery.event_id == event_id)
    if cursor is not None:
        _, last_id = decode_cursor(cursor)
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise invalid_cursor()
        query = query.where(NotificationDelivery.id < last_id)
    rows = list(session.scalars(query.order_by(NotificationDelivery.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([None, rows[-1].id])
    return rows, next_cursor


def retry(session: Session, *, delivery_id: int, now: datetime) -> NotificationDelivery | None:
    """Queue a dead or pending delivery for an attempt now; None if there is no such delivery."""
    delivery = session.get(NotificationDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status == "delivered":
        return delivery
    session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id)
        .values(status="pending", next_attempt_at=now)
    )
    session.refresh(delivery)
    announce(session)
    return delivery


def enable(session: Session, *, name: str, now: datetime) -> None:
    """Mark a destination active again; its held deliveries go out at once."""
    statement = insert(NotificationDestination).values(name=name, state="active", changed_at=now, reason=None)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["name"], set_={"state": "active", "changed_at": now, "reason": None}
        )
    )
    session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.destination == name, NotificationDelivery.status == "pending")
        .values(next_attempt_at=now)
    )
    announce(session)
