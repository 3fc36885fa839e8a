"""The workloads: each returns rows of the results table."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import database
from api.sla import service as sla_service
from api.sla_config.store import ActiveConfig, ConfigStore
from api.tickets import service as tickets_service
from api.tickets.models import Ticket, TicketSnapshot
from api.tickets.schemas import SnapshotIn
from bench import harness
from bench.data import batches, snapshot_stream


@dataclass
class Row:
    """One line of the results table."""

    figure: str
    value: float
    unit: str
    baseline: float | None
    baseline_name: str
    goal: str
    met: bool

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.value / self.baseline


def _post_ok(session: requests.Session, url: str, body: bytes) -> None:
    response = session.post(url, data=body, headers={"content-type": "application/json"}, timeout=120)
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")


def _store(url: str) -> tuple[sessionmaker[Session], ActiveConfig]:
    engine = database.make_engine(url, pool_size=2)
    sessions = sessionmaker(engine, expire_on_commit=False)
    store = ConfigStore(path=harness.ROOT / "sla_config.yaml", sessions=sessions)
    return sessions, store.load_initial()


def ingest_batches(snapshot_count: int, naive_count: int) -> list[Row]:
    """POST /tickets in batches of 1,000 from 4 clients, against the service called directly and a naive loop."""
    stream = snapshot_stream(snapshot_count)
    bodies = [orjson.dumps(batch) for batch in batches(stream, 1000)]

    url = harness.fresh_database("bench_ingest_http")
    with harness.api_process(url, SLA_EVALUATOR_ENABLED="false") as base:
        result = harness.run_clients(4, bodies, lambda s, b: _post_ok(s, f"{base}/tickets", b))
    http_rate = snapshot_count / result.seconds

    url = harness.fresh_database("bench_ingest_direct")
    sessions, active = _store(url)
    parsed = [[SnapshotIn.model_validate(item) for item in batch] for batch in batches(stream, 1000)]
    started = time.perf_counter()
    for batch in parsed:
        with sessions() as session:
            tickets_service.ingest(session, snapshots=batch, active=active, now=datetime.now(UTC))
            session.commit()
    direct_rate = snapshot_count / (time.perf_counter() - started)

    naive_rate = _naive_merge_rate(url, stream[:naive_count], active)
    return [
        Row(
            "POST /tickets, batches of 1,000, 4 clients",
            http_rate,
            "snapshots/s",
            direct_rate,
            "service's set-based upsert called directly",
            ">= 30,000/s and >= 0.5 x direct",
            http_rate >= 30_000 and http_rate >= 0.5 * direct_rate,
        ),
        Row(
            "naive per-row ORM get-then-merge (the seed's design)",
            naive_rate,
            "snapshots/s",
            None,
            "-",
            "baseline",
            True,
        ),
        Row("POST /tickets batches vs naive ORM merge", http_rate / naive_rate, "x", None, "-", "-", True),
    ]


def _naive_merge_rate(url: str, stream: list[dict[str, Any]], active: ActiveConfig) -> float:
    """Per snapshot: get the ticket, compare, merge, add history; one commit per batch of 500."""
    engine = database.make_engine(url, pool_size=1)
    sessions = sessionmaker(engine)
    started = time.perf_counter()
    for batch in batches(stream, 500):
        with sessions() as session:
            for raw in batch:
                snapshot = SnapshotIn.model_validate(raw)
                now = datetime.now(UTC)
                current = session.get(Ticket, snapshot.id)
                seen = session.scalar(
                    select(TicketSnapshot).where(
                        TicketSnapshot.ticket_id == snapshot.id, TicketSnapshot.updated_at == snapshot.updated_at
                    )
                )
                if current is None or snapshot.updated_at > current.updated_at:
                    ticket = Ticket(
                        id=snapshot.id,
                        priority=snapshot.priority,
                        customer_tier=snapshot.customer_tier,
                        status=snapshot.status,
                        created_at=snapshot.created_at,
                        updated_at=snapshot.updated_at,
                        first_response_at=snapshot.first_response_at,
                        received_at=now,
                        config_version=active.version,
                        response_phase="running",
                        response_elapsed_us=0,
                        response_target_us=0,
                        resolution_phase="running",
                        resolution_elapsed_us=0,
                        resolution_target_us=0,
                    )
                    session.merge(ticket)
                    session.flush()
                if seen is None:
                    session.add(
                        TicketSnapshot(
                            ticket_id=snapshot.id,
                            updated_at=snapshot.updated_at,
                            priority=snapshot.priority,
                            customer_tier=snapshot.customer_tier,
                            status=snapshot.status,
                            created_at=snapshot.created_at,
                            first_response_at=snapshot.first_response_at,
                            received_at=now,
                        )
                    )
                    session.flush()
            session.commit()
    rate = len(stream) / (time.perf_counter() - started)
    engine.dispose()
    return rate


def ingest_single(request_count: int) -> list[Row]:
    """POST /tickets one snapshot per request from 4 clients, against a bare FastAPI insert."""
    stream = snapshot_stream(request_count, seed=11)
    bodies = [orjson.dumps(item) for item in stream]
    url = harness.fresh_database("bench_single")
    with harness.api_process(url, SLA_EVALUATOR_ENABLED="false") as base:
        result = harness.run_clients(4, bodies, lambda s, b: _post_ok(s, f"{base}/tickets", b))
    bare_url = harness.fresh_database("bench_bare")
    with harness.api_process(bare_url, app="bench.bare_app:app") as base:
        bare = harness.run_clients(4, bodies, lambda s, b: _post_ok(s, f"{base}/tickets", b))
    return [
        Row(
            "POST /tickets, one snapshot per request, 4 clients",
            result.per_second,
            "requests/s",
            bare.per_second,
            "bare FastAPI endpoint doing one INSERT",
            ">= 1,000/s",
            result.per_second >= 1000,
        ),
        Row(
            "  p99 latency of those requests",
            result.percentile(0.99) * 1000,
            "ms",
            bare.percentile(0.99) * 1000,
            "bare endpoint p99",
            "-",
            True,
        ),
    ]


LOAD_TICKETS = """
    INSERT INTO tickets (id, priority, customer_tier, status, created_at, updated_at, received_at, config_version,
                         response_phase, response_elapsed_us, response_running_since, response_target_us,
                         response_alert_at, response_due_at,
                         resolution_phase, resolution_elapsed_us, resolution_running_since, resolution_target_us,
                         resolution_alert_at, resolution_due_at)
    SELECT 'B-' || g,
           (ARRAY['low', 'high'])[1 + g %% 2], (ARRAY['silver', 'gold'])[1 + (g / 2) %% 2], 'open',
           %(now)s - interval '10 minutes', %(now)s - interval '10 minutes', %(now)s, %(version)s,
           'running', 0, %(now)s - interval '10 minutes', 900000000,
           CASE WHEN g <= %(due)s THEN %(now)s - interval '1 second' ELSE %(now)s + (g || ' seconds')::interval END,
           %(now)s + interval '1 day' + (g || ' seconds')::interval,
           'running', 0, %(now)s - interval '10 minutes', 10800000000,
           %(now)s + interval '2 days' + (g || ' seconds')::interval,
           %(now)s + interval '3 days' + (g || ' seconds')::interval
    FROM generate_series(1, %(count)s) AS g
"""


def _load_open_tickets(url: str, count: int, due: int, now: datetime) -> ActiveConfig:
    _, active = _store(url)
    with psycopg.connect(database.libpq_url(url), autocommit=True) as connection:
        connection.execute("TRUNCATE sla_events, ticket_snapshots, tickets")
        connection.execute(LOAD_TICKETS, {"now": now, "version": active.version, "due": due, "count": count})
        connection.execute("VACUUM ANALYZE tickets")
    return active


def _pass_seconds(url: str, now: datetime) -> tuple[float, int]:
    """One pass as the evaluator runs it, on a connection already open."""
    engine = database.make_engine(url, pool_size=1)
    sessions = sessionmaker(engine)
    with sessions() as session:
        session.execute(select(1))
        session.commit()
        started = time.perf_counter()
        recorded = sla_service.record_due(session, now=now)
        sla_service.next_check_at(session)
        took = time.perf_counter() - started
    engine.dispose()
    return took, recorded


def _naive_pass_seconds(url: str, now: datetime) -> float:
    """The seed's design: load every open ticket into Python and compare its deadlines with now."""
    started = time.perf_counter()
    with psycopg.connect(database.libpq_url(url)) as connection:
        rows = connection.execute(
            "SELECT id, response_alert_at, response_due_at, resolution_alert_at, resolution_due_at, events_recorded "
            "FROM tickets WHERE status NOT IN ('resolved', 'closed')"
        ).fetchall()
        due = []
        for ticket_id, *deadlines, recorded in rows:
            for bit, deadline in zip((1, 2, 4, 8), deadlines, strict=True):
                if deadline is not None and deadline <= now and not recorded & bit:
                    due.append((ticket_id, bit))
    return time.perf_counter() - started


def evaluator_pass(open_count: int, due_count: int) -> list[Row]:
    """A pass over `open_count` open tickets with nothing due, and with `due_count` newly due."""
    url = harness.fresh_database("bench_evaluator")
    now = datetime.now(UTC).replace(microsecond=0)
    _load_open_tickets(url, open_count, 0, now)
    idle = harness.median_of(5, lambda: _pass_seconds(url, now)[0])
    naive_idle = harness.median_of(3, lambda: _naive_pass_seconds(url, now))
    due_times = []
    for _ in range(3):
        _load_open_tickets(url, open_count, due_count, now)
        naive_due = _naive_pass_seconds(url, now)
        took, recorded = _pass_seconds(url, now)
        if recorded != due_count:
            raise RuntimeError(f"expected {due_count} events, recorded {recorded}")
        due_times.append(took)
    due_times.sort()
    label = f"{open_count:,} open"
    return [
        Row(
            f"evaluator pass, {label}, nothing due",
            idle * 1000,
            "ms",
            naive_idle * 1000,
            "naive pass: load open tickets, loop in Python",
            "<= 5 ms",
            idle <= 0.005,
        ),
        Row(
            f"evaluator pass, {label}, {due_count:,} newly due",
            due_times[1] * 1000,
            "ms",
            naive_due * 1000,
            "naive pass",
            "<= 1,000 ms",
            due_times[1] <= 1.0,
        ),
    ]
