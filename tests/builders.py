"""Plain builders of test data."""

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.kit.steps import rows_of
from api.kit.timestamps import rfc3339
from api.models import SlaEvent
from api.sla import passes
from api.sla_config.store import ActiveConfig, ConfigStore
from api.tickets import service as tickets_service
from api.tickets.ingestion import IngestReport, ingest_steps
from api.tickets.schemas import SnapshotIn
from tests.conftest import SEED_CONFIG, T0, FrozenClock

# The seed config with high/gold tightened, and the extended form of another config.
EDITED = SEED_CONFIG.replace("{response: 900,  resolution: 10800}", "{response: 600,  resolution: 7200}")
EXTENDED = """
alert_threshold: 0.25
pause_statuses: [pending, open]
low:
  silver: {response: 2h, resolution: 1d}
  gold:   {response: 1h, resolution: 12h}
high:
  silver: {response: 30m, resolution: 6h}
  gold:   {response: 15m, resolution: 3h}
"""


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
        "created_at": rfc3339(created_at),
        "updated_at": rfc3339(updated_at or created_at),
        "status": status,
    }
    if first_response_at is not None:
        body["first_response_at"] = rfc3339(first_response_at)
    return body


def snapshot(ticket_id: str = "T-1", **fields: Any) -> SnapshotIn:
    """A validated snapshot."""
    return SnapshotIn.model_validate_json(json.dumps(snapshot_json(ticket_id, **fields)))


def minutes(count: float) -> timedelta:
    """A duration in minutes."""
    return timedelta(minutes=count)


def apply_batch(
    sessions: sessionmaker[Session], active: ActiveConfig, snapshots: Sequence[SnapshotIn], *, now: datetime
) -> IngestReport:
    """Ingest a batch in its own committed transaction."""
    with sessions() as session:
        result = tickets_service.ingest(session, snapshots=snapshots, active=active, now=now)
        session.commit()
    return result


def run_pass(sessions: sessionmaker[Session], *, now: datetime) -> int:
    """One evaluation pass at `now`; returns how many events it recorded."""
    return passes.record_due(sessions, now=now)


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


def seed(client: TestClient, frozen_clock: FrozenClock) -> None:
    """Five tickets: breached, at risk, healthy, paused, resolved."""
    frozen_clock.set(T0 + timedelta(minutes=14))
    batch = [
        snapshot_json("breached", created_at=T0 - timedelta(hours=1), priority="high", customer_tier="gold"),
        snapshot_json("at-risk", created_at=T0, priority="high", customer_tier="gold"),
        snapshot_json("healthy", created_at=T0, priority="low", customer_tier="silver"),
        snapshot_json(
            "paused", created_at=T0, updated_at=T0 + timedelta(minutes=5), status="pending", customer_tier="silver"
        ),
        snapshot_json(
            "resolved", created_at=T0, updated_at=T0 + timedelta(minutes=10), status="resolved", priority="low"
        ),
    ]
    assert client.post("/tickets", json=batch).status_code == 200


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def post(client: TestClient, body: Any) -> Any:
    content = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/tickets", content=content, headers={"content-type": "application/json"})


def stored_ids(client: TestClient) -> list[str]:
    return sorted(item["id"] for item in client.get("/tickets", params={"limit": 500}).json()["items"])


def high_gold_response(store: ConfigStore) -> int:
    return store.active.config.targets["high"]["gold"].response


def ingest_counting_round_trips(
    sessions: sessionmaker[Session], active: ActiveConfig, batch: Sequence[SnapshotIn], now: datetime = T0
) -> tuple[IngestReport, int]:
    """Ingest a batch in its own transaction; also say how many round trips it took (statements sent together)."""
    with sessions() as session:
        connection = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
        steps = ingest_steps(batch, active, now)
        count = 0
        try:
            statements = next(steps)
            while True:
                count += 1
                statements = steps.send([rows_of(connection.execute(sql, params)) for sql, params in statements])
        except StopIteration as done:
            session.commit()
            return done.value, count
