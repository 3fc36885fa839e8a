"""Plain builders of test data."""

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.sla import service as sla_service
from api.sla.models import SlaEvent
from api.sla_config.store import ActiveConfig
from api.tickets import service as tickets_service
from api.tickets.schemas import IngestResult, SnapshotIn


def iso(instant: datetime) -> str:
    """RFC 3339 text of an aware datetime."""
    return instant.isoformat().replace("+00:00", "Z")


def snapshot_json(
    ticket_id: str = "T-1",
    *,
    created_at: datetime,
    updated_at: datetime | None = None,
    status: str = "open",
    priority: str = "high",
    customer_tier: str = "gold",
    first_response_at: datetime | None = None,
) -> dict[str, Any]:
    """A snapshot as the ticketing tool would send it."""
    body: dict[str, Any] = {
        "id": ticket_id,
        "priority": priority,
        "customer_tier": customer_tier,
        "created_at": iso(created_at),
        "updated_at": iso(updated_at or created_at),
        "status": status,
    }
    if first_response_at is not None:
        body["first_response_at"] = iso(first_response_at)
    return body


def snapshot(ticket_id: str = "T-1", **fields: Any) -> SnapshotIn:
    """A validated snapshot."""
    return SnapshotIn.model_validate_json(json.dumps(snapshot_json(ticket_id, **fields)))


def minutes(count: float) -> timedelta:
    """A duration in minutes."""
    return timedelta(minutes=count)


def apply_batch(
    sessions: sessionmaker[Session], active: ActiveConfig, snapshots: Sequence[SnapshotIn], *, now: datetime
) -> IngestResult:
    """Ingest a batch in its own committed transaction."""
    with sessions() as session:
        result = tickets_service.ingest(session, snapshots=snapshots, active=active, now=now)
        session.commit()
    return result


def run_pass(sessions: sessionmaker[Session], *, now: datetime) -> int:
    """One evaluation pass at `now`; returns how many events it recorded."""
    with sessions() as session:
        return sla_service.record_due(session, now=now)


def events(sessions: sessionmaker[Session], ticket_id: str | None = None) -> list[SlaEvent]:
    """Recorded events in the order they fell due."""
    with sessions() as session:
        query = select(SlaEvent).order_by(SlaEvent.due_at, SlaEvent.clock, SlaEvent.kind)
        if ticket_id is not None:
            query = query.where(SlaEvent.ticket_id == ticket_id)
        return list(session.scalars(query))


def event_keys(sessions: sessionmaker[Session], ticket_id: str | None = None) -> list[tuple[str, str, str, datetime]]:
    """(ticket, clock, kind, due_at) of every event."""
    return [(e.ticket_id, e.clock, e.kind, e.due_at) for e in events(sessions, ticket_id)]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    """Poll `condition` until it holds; return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
    return time.monotonic() - started
