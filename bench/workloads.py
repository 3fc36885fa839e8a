"""The workloads: each returns rows of the results table."""

import contextlib
import dataclasses
import os
import re
import secrets
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.kit import database
from api.kit.statuses import OPEN_STATUS_SQL
from api.models import Ticket, TicketSnapshot
from api.sla import checks, passes, walk
from api.sla_config.notifications import Destination
from api.sla_config.store import ActiveConfig, ConfigStore
from api.tickets.schemas import SnapshotIn
from bench import harness, profiling
from bench.data import batches, ingestion_rounds, snapshot_stream


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


def _post_ok(session: requests.Session, url: str, body: bytes, headers: dict[str, str] | None = None) -> None:
    response = session.post(
        url, data=body, headers={"content-type": "application/json", **(headers or {})}, timeout=120
    )
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")


def _store(url: str) -> tuple[sessionmaker[Session], ActiveConfig]:
    engine = database.make_engine(url, pool_size=2)
    sessions = sessionmaker(engine, expire_on_commit=False)
    store = ConfigStore(path=harness.ROOT / "sla_config.yaml", sessions=sessions)
    return sessions, store.load_initial()


BATCH_SIZE = 1_000


def _round_bodies(snapshot_count: int, prefix: str) -> list[list[bytes]]:
    """The bodies of the two ingestion rounds: first snapshots of new tickets, then one change each."""
    return [
        [orjson.dumps(batch) for batch in batches(stream, BATCH_SIZE)]
        for stream in ingestion_rounds(snapshot_count, prefix=prefix)
    ]


def _round_rates(
    url: str, rounds: list[list[bytes]], snapshot_count: int, headers: dict[str, str] | None = None
) -> list[float]:
    """Snapshots/s of each round (`snapshot_count` snapshots) posted to `url` from 4 clients."""
    rates = []
    for bodies in rounds:
        result = harness.run_clients(4, bodies, lambda s, b: _post_ok(s, url, b, headers))
        rates.append(snapshot_count / result.seconds)
    return rates


def _round_seconds(url: str, bodies: list[bytes]) -> float:
    """Seconds to post every body to `url` from 4 clients."""
    return harness.run_clients(4, bodies, lambda s, b: _post_ok(s, url, b)).seconds


def ingest_batches(snapshot_count: int, naive_count: int, repeats: int) -> list[Row]:
    """POST /tickets in batches of 1,000 from 4 clients, new tickets then their changes, beside the ceiling.

    The ceiling is `bench/bare_app.py`'s `POST /batch` in the same process model, writing the
    same history and ticket rows set-based without computing a clock. The two take turns round by
    round, `repeats` times on fresh tickets, the one that goes first alternating, so that both see
    the machine alike (its speed moves by a quarter within minutes); each rate is over all its rounds.
    With `--profile`, the service's first repeat runs under the profiler: read rates from a run without.
    """
    warm_up = _round_bodies(4 * BATCH_SIZE, "WU")[:1]
    url = harness.fresh_database("bench_ingest_http")
    ceiling_url = harness.fresh_database("bench_ingest_ceiling")
    seconds = {"service": [0.0, 0.0], "ceiling": [0.0, 0.0]}
    with (
        harness.api_process(url, SLA_EVALUATOR_ENABLED="false") as api,
        harness.api_process(ceiling_url, app="bench.bare_app:app") as ceiling,
    ):
        targets = {"service": f"{api.base}/tickets", "ceiling": f"{ceiling.base}/batch"}
        for target in targets.values():
            _round_seconds(target, warm_up[0])
        for repeat in range(repeats):
            rounds = _round_bodies(snapshot_count, f"RD{repeat}")
            order = ["service", "ceiling"] if repeat % 2 == 0 else ["ceiling", "service"]
            for index, (bodies, kind) in enumerate(zip(rounds, ("new", "changes"), strict=True)):
                for name in order:
                    # The service's first repeat is profiled (when profiling is on), each round apart.
                    with (
                        profiling.profiled(api.pid, f"ingest-batches-{kind}", database.libpq_url(url))
                        if name == "service" and repeat == 0
                        else contextlib.nullcontext()
                    ):
                        seconds[name][index] += _round_seconds(targets[name], bodies)
    total = snapshot_count * repeats
    new_rate, update_rate = (total / spent for spent in seconds["service"])
    ceiling_new, ceiling_update = (total / spent for spent in seconds["ceiling"])

    _, active = _store(url)
    naive_rate = _naive_merge_rate(url, snapshot_stream(naive_count), active)
    return [
        Row(
            f"POST /tickets, batches of 1,000 new tickets, 4 clients ({snapshot_count:,} x {repeats})",
            new_rate,
            "snapshots/s",
            ceiling_new,
            "ceiling: the same rows written set-based, no clocks",
            ">= 0.5 x ceiling",
            new_rate >= 0.5 * ceiling_new,
        ),
        Row(
            "POST /tickets, batches of 1,000 changes to them, a tenth repeated or late",
            update_rate,
            "snapshots/s",
            ceiling_update,
            "ceiling, same batches",
            ">= 0.5 x ceiling",
            update_rate >= 0.5 * ceiling_update,
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
        Row("POST /tickets new-ticket batches vs naive ORM merge", new_rate / naive_rate, "x", None, "-", "-", True),
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


def _wrk(base: str, seconds: int, key: str = "", path: str = "/tickets") -> tuple[float, float]:
    """Requests/s and p99 ms of wrk posting single snapshots to `path` with 4 connections (sending `key`, if any)."""
    script = harness.ROOT / "bench" / "single_snapshot.lua"
    output = subprocess.run(
        ["wrk", "-t2", "-c4", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BENCH_API_KEY": key, "BENCH_PATH": path},
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"some requests failed:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return rate, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def ingest_single(request_count: int, seconds: int) -> list[Row]:
    """POST /tickets one snapshot per request over 4 connections, against a bare FastAPI insert.

    The load comes from wrk when installed (a Python client tops out near 550 requests/s here
    even on an endpoint that does nothing); otherwise from Python clients, and the row says so.
    """
    url = harness.fresh_database("bench_single")
    bare_url = harness.fresh_database("bench_bare")
    ceiling_url = harness.fresh_database("bench_single_ceiling")
    if shutil.which("wrk"):
        with (
            harness.api_process(url, SLA_EVALUATOR_ENABLED="false") as api,
            profiling.profiled(api.pid, "ingest-single", database.libpq_url(url)),
        ):
            rate, p99 = _wrk(api.base, seconds)
        with harness.api_process(bare_url, app="bench.bare_app:app") as bare_api:
            bare_rate, bare_p99 = _wrk(bare_api.base, seconds)
        with harness.api_process(ceiling_url, app="bench.bare_app:app") as ceiling_api:
            ceiling_rate, _ = _wrk(ceiling_api.base, seconds, path="/batch")
        client = "wrk"
    else:
        bodies = [orjson.dumps(item) for item in snapshot_stream(request_count, seed=11)]
        with harness.api_process(url, SLA_EVALUATOR_ENABLED="false") as api:
            result = harness.run_clients(4, bodies, lambda s, b: _post_ok(s, f"{api.base}/tickets", b))
        with harness.api_process(bare_url, app="bench.bare_app:app") as bare_api:
            bare = harness.run_clients(4, bodies, lambda s, b: _post_ok(s, f"{bare_api.base}/tickets", b))
        with harness.api_process(ceiling_url, app="bench.bare_app:app") as ceiling_api:
            ceiling = harness.run_clients(4, bodies, lambda s, b: _post_ok(s, f"{ceiling_api.base}/batch", b))
        rate, p99 = result.per_second, result.percentile(0.99) * 1000
        bare_rate, bare_p99 = bare.per_second, bare.percentile(0.99) * 1000
        ceiling_rate = ceiling.per_second
        client = "Python clients"
    return [
        Row(
            f"POST /tickets, one snapshot per request, 4 connections ({client})",
            rate,
            "requests/s",
            bare_rate,
            "bare FastAPI endpoint doing one INSERT",
            ">= 0.8 x bare",
            rate >= 0.8 * bare_rate,
        ),
        Row("  p99 latency of those requests", p99, "ms", bare_p99, "bare endpoint p99", "-", True),
        Row(
            "  the same requests against the ceiling",
            rate,
            "requests/s",
            ceiling_rate,
            "ceiling endpoint: the same rows in one statement, no clocks",
            "-",
            True,
        ),
    ]


_LOADED = checks.prefixed("s")
LOAD_TICKETS = f"""
    INSERT INTO tickets (id, priority, customer_tier, status, created_at, updated_at, received_at, config_version,
                         response_phase, response_elapsed_us, response_running_since, response_target_us,
                         response_alert_at, response_due_at,
                         resolution_phase, resolution_elapsed_us, resolution_running_since, resolution_target_us,
                         resolution_alert_at, resolution_due_at, sla_state, breached_clocks, next_check_at)
    SELECT s.*, {checks.state_sql(_LOADED, "%(now)s")}, {checks.breached_clocks_sql(_LOADED, "%(now)s")},
           {checks.next_check_sql(_LOADED, "0", "%(now)s")}
    FROM (
        SELECT 'B-' || g AS id,
               (ARRAY['low', 'high'])[1 + g %% 2] AS priority,
               (ARRAY['silver', 'gold'])[1 + (g / 2) %% 2] AS customer_tier,
               'open' AS status, %(now)s - interval '10 minutes' AS created_at,
               %(now)s - interval '10 minutes' AS updated_at, %(now)s AS received_at, %(version)s AS config_version,
               'running' AS response_phase, 0 AS response_elapsed_us,
               %(now)s - interval '10 minutes' AS response_running_since, 900000000 AS response_target_us,
               CASE WHEN g <= %(due)s
                    THEN %(now)s + (%(due_from)s + %(spread)s * g / greatest(%(due)s, 1)) * interval '1 second'
                    ELSE %(now)s + interval '1 day' + (g || ' seconds')::interval END AS response_alert_at,
               %(now)s + interval '2 days' + (g || ' seconds')::interval AS response_due_at,
               'running' AS resolution_phase, 0 AS resolution_elapsed_us,
               %(now)s - interval '10 minutes' AS resolution_running_since, 10800000000 AS resolution_target_us,
               %(now)s + interval '3 days' + (g || ' seconds')::interval AS resolution_alert_at,
               %(now)s + interval '4 days' + (g || ' seconds')::interval AS resolution_due_at
        FROM generate_series(1, %(count)s) AS g
    ) AS s
"""


def _load_open_tickets(
    url: str, count: int, due: int, now: datetime, *, due_from: float = -1.0, spread: float = 0.0
) -> ActiveConfig:
    """`count` open tickets; the response alerts of the first `due` fall due from `due_from` s over `spread` s."""
    _, active = _store(url)
    with psycopg.connect(database.libpq_url(url), autocommit=True) as connection:
        connection.execute("TRUNCATE notification_deliveries, sla_events, event_counts, ticket_snapshots, tickets")
        connection.execute(
            LOAD_TICKETS,
            {
                "now": now,
                "version": active.version,
                "due": due,
                "count": count,
                "due_from": due_from,
                "spread": spread,
            },
        )
        connection.execute("VACUUM ANALYZE tickets")
    return active


def _pass_seconds(url: str, now: datetime, active: ActiveConfig | None = None) -> tuple[float, int]:
    """One pass as the evaluator runs it, on a connection already open."""
    engine = database.make_engine(url, pool_size=1)
    sessions = sessionmaker(engine)
    with sessions() as session:
        session.execute(select(1))
        session.commit()
    started = time.perf_counter()
    recorded = passes.record_due(sessions, now=now, active=active)
    with sessions() as session:
        passes.next_check_at(session)
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
    url = _evaluator_url()
    now = datetime.now(UTC).replace(microsecond=0)
    loaded = _load_open_tickets(url, open_count, 0, now)
    idle = harness.median_of(5, lambda: _pass_seconds(url, now)[0])
    naive_idle = harness.median_of(3, lambda: _naive_pass_seconds(url, now))
    sweep, scan = _sweep_seconds(url, loaded)
    due_times = []
    notifying_times = []
    for _ in range(3):
        active = _load_open_tickets(url, open_count, due_count, now)
        naive_due = _naive_pass_seconds(url, now)
        took, recorded = _pass_seconds(url, now, active)
        if recorded != due_count:
            raise RuntimeError(f"expected {due_count} events, recorded {recorded}")
        due_times.append(took)
        _rearm(url)
        notifying_times.append(_pass_seconds(url, now, _with_destinations(active, 3))[0])
    due_times.sort()
    notifying_times.sort()
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
            f"sweep, {label}, nothing stale: is any open ticket on another config?",
            sweep * 1000,
            "ms",
            scan * 1000,
            "the same question as a scan of the open tickets",
            "<= 5 ms",
            sweep <= 0.005,
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
        Row(
            "  the same pass queueing deliveries to 3 destinations",
            notifying_times[1] * 1000,
            "ms",
            due_times[1] * 1000,
            "the pass with no destination",
            "<= 1.2 x without",
            notifying_times[1] <= 1.2 * due_times[1],
        ),
    ]


STALE_SCAN = f"SELECT EXISTS (SELECT FROM tickets WHERE {OPEN_STATUS_SQL} AND NOT (config_version = ANY(%s)))"


def _sweep_seconds(url: str, active: ActiveConfig) -> tuple[float, float]:
    """Median seconds of the sweep's stale check, and of the same question asked by a scan."""
    engine = database.make_engine(url, pool_size=1)
    sessions = sessionmaker(engine)
    with sessions() as session:
        session.execute(select(1))

        def check() -> float:
            started = time.perf_counter()
            if walk.anything_stale(session, active):
                raise RuntimeError("the loaded tickets are all on the config in force")
            return time.perf_counter() - started

        sweep = harness.median_of(21, check)
    engine.dispose()
    equivalent = list(active.equivalent_versions or (active.version,))
    with psycopg.connect(database.libpq_url(url)) as connection:

        def scan() -> float:
            started = time.perf_counter()
            connection.execute(STALE_SCAN, (equivalent,)).fetchone()
            return time.perf_counter() - started

        scanned = harness.median_of(3, scan)
    return sweep, scanned


def _rearm(url: str) -> None:
    """Forget the events recorded, so that the same tickets fall due again."""
    with psycopg.connect(database.libpq_url(url), autocommit=True) as connection:
        connection.execute("TRUNCATE notification_deliveries, sla_events, event_counts")
        connection.execute(
            "UPDATE tickets SET events_recorded = 0, next_check_at = response_alert_at WHERE events_recorded <> 0"
        )


def _with_destinations(active: ActiveConfig, count: int) -> ActiveConfig:
    """The config in force, sending every event to `count` destinations."""
    notifications = {f"receiver-{n}": Destination(url=f"http://127.0.0.1:9/{n}") for n in range(count)}
    return dataclasses.replace(active, config=active.config.model_copy(update={"notifications": notifications}))


def _get_ok(session: requests.Session, url: str) -> None:
    response = session.get(url, timeout=120)
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")


# Events of the loaded tickets, due over the last `span` seconds, and their hourly counts as the
# pass keeps them: the state of a busy day, for the reads.
LOAD_EVENTS = """
    INSERT INTO sla_events (ticket_id, clock, kind, due_at, detected_at, target_seconds, priority, customer_tier,
                            config_version)
    SELECT 'B-' || g, (ARRAY['response', 'resolution'])[1 + g %% 2], (ARRAY['alert', 'alert', 'breach'])[1 + g %% 3],
           %(now)s - (g::bigint * %(span)s / %(count)s) * interval '1 second',
           %(now)s - (g::bigint * %(span)s / %(count)s) * interval '1 second' + interval '10 milliseconds',
           900, (ARRAY['low', 'high'])[1 + g %% 2], (ARRAY['silver', 'gold'])[1 + (g / 2) %% 2], %(version)s
    FROM generate_series(1, %(count)s) AS g
"""
COUNT_EVENTS = """
    INSERT INTO event_counts (hour, priority, customer_tier, clock, kind, events)
    SELECT date_bin('1 hour', due_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), priority, customer_tier, clock, kind,
           count(*)
    FROM sla_events GROUP BY 1, 2, 3, 4, 5
"""


def _load_events(url: str, count: int, now: datetime, version: int) -> None:
    """`count` events of the loaded tickets, due over the last 24 hours."""
    with psycopg.connect(database.libpq_url(url), autocommit=True) as connection:
        connection.execute("TRUNCATE notification_deliveries, sla_events, event_counts")
        params = {"now": now, "span": 86_000, "count": count, "version": version}
        connection.execute(LOAD_EVENTS, params)
        connection.execute(COUNT_EVENTS)
        connection.execute("VACUUM ANALYZE sla_events")


def _timed_p99_ms(session: requests.Session, urls: list[str]) -> float:
    """p99 in ms of GETting each of `urls` in turn."""
    took = []
    for url in urls:
        started = time.perf_counter()
        _get_ok(session, url)
        took.append(time.perf_counter() - started)
    return harness.LoadResult(len(took), 1, took).percentile(0.99) * 1000


def _page_urls(session: requests.Session, first: str, pages: int) -> list[str]:
    """`pages` consecutive page URLs of a list, following its cursors."""
    urls = [first]
    while len(urls) < pages:
        cursor = session.get(urls[-1], timeout=60).json()["next_cursor"]
        if not cursor:
            break
        urls.append(f"{first}&cursor={cursor}")
    return urls


def reads_and_memory(open_count: int) -> list[Row]:
    """GET /tickets, GET /alerts and GET /dashboard/summary with `open_count` open tickets and as many events."""
    import psutil

    url = _evaluator_url()
    now = datetime.now(UTC)
    active = _load_open_tickets(url, open_count, 0, now)
    _load_events(url, open_count, now, active.version)
    with harness.api_process(url, SLA_EVALUATOR_ENABLED="false") as api:
        session = requests.Session()
        base = api.base
        tickets = [
            *_page_urls(session, f"{base}/tickets?limit=50", 20),
            *_page_urls(session, f"{base}/tickets?limit=50&sla_state=at_risk&priority=high", 20),
            *[f"{base}/tickets?limit=50&customer_tier=gold&status=open" for _ in range(20)],
        ]
        alerts = [
            *_page_urls(session, f"{base}/alerts?limit=50", 20),
            *_page_urls(session, f"{base}/alerts?limit=50&kind=breach&priority=high", 20),
            *[f"{base}/alerts?limit=50&clock=resolution&customer_tier=silver" for _ in range(20)],
        ]
        page_p99 = _timed_p99_ms(session, tickets)
        alerts_p99 = _timed_p99_ms(session, alerts)
        summaries = {
            window: _timed_p99_ms(session, [f"{base}/dashboard/summary?window={window}"] * 30)
            for window in ("24h", "7d", "30d")
        }
        rss_mb = psutil.Process(api.pid).memory_info().rss / 1e6
    label = f"{open_count:,} open, {open_count:,} events in 24 h"
    rows = [
        Row(f"GET /tickets page p99, {label}", page_p99, "ms", None, "-", "<= 50 ms", page_p99 <= 50),
        Row(f"GET /alerts page p99, {label}", alerts_p99, "ms", None, "-", "<= 50 ms", alerts_p99 <= 50),
    ]
    for window, p99 in summaries.items():
        rows.append(
            Row(f"GET /dashboard/summary?window={window} p99, {label}", p99, "ms", None, "-", "<= 50 ms", p99 <= 50)
        )
    rows.append(Row(f"API process RSS, {label}", rss_mb, "MB", None, "-", "<= 250 MB", rss_mb <= 250))
    return rows


_EVALUATOR_DATABASE: list[str] = []


def _evaluator_url() -> str:
    if not _EVALUATOR_DATABASE:
        _EVALUATOR_DATABASE.append(harness.fresh_database("bench_evaluator"))
    return _EVALUATOR_DATABASE[0]


STALE_FROM = """
    SELECT id FROM tickets WHERE id >= %s AND config_version <> %s AND status <> 'closed' ORDER BY id LIMIT 1
"""


def config_change(open_count: int) -> list[Row]:
    """Edit the config with `open_count` open tickets: time until every deadline moved, API p99 meanwhile."""
    import shutil
    import tempfile
    from pathlib import Path

    url = _evaluator_url()
    now = datetime.now(UTC).replace(microsecond=0)
    _load_open_tickets(url, open_count, 0, now)
    folder = Path(tempfile.mkdtemp())
    config = folder / "sla_config.yaml"
    shutil.copy(harness.ROOT / "sla_config.yaml", config)
    with (
        harness.api_process(url, SLA_CONFIG_PATH=str(config)) as api,
        psycopg.connect(database.libpq_url(url), autocommit=True) as connection,
    ):
        _wait_leading(api.base)
        version = connection.execute("SELECT max(version) FROM sla_config_versions").fetchone()[0]  # type: ignore[index]
        with (
            profiling.profiled(api.pid, "config-change", database.libpq_url(url)),
            harness.Sampler(
                lambda s: _get_ok(s, f"{api.base}/tickets/B-{int(time.time() * 1000) % open_count + 1}")
            ) as sampler,
        ):
            started = time.perf_counter()
            config.write_text(config.read_text().replace("900,", "600,").replace("86400", "72000"))
            # The evaluator moves tickets in id order: look for a stale one from the last seen, so the
            # check stays cheap beside the work it measures; a final look covers every ticket.
            last_stale = ""
            while True:
                time.sleep(0.2)
                newest = connection.execute("SELECT max(version) FROM sla_config_versions").fetchone()[0]  # type: ignore[index]
                if newest == version:
                    continue
                row = connection.execute(STALE_FROM, (last_stale, newest)).fetchone()
                if row is None:
                    row = connection.execute(STALE_FROM, ("", newest)).fetchone()
                    if row is None:
                        break
                last_stale = row[0]
            took = time.perf_counter() - started
    shutil.rmtree(folder)
    return [
        Row(f"config change, {open_count:,} open: new deadlines in force", took, "s", None, "-", "<= 15 s", took <= 15),
        Row(
            "  API p99 (GET /tickets/{id}) meanwhile",
            sampler.p99_ms(),
            "ms",
            None,
            "-",
            "< 100 ms",
            sampler.p99_ms() < 100,
        ),
    ]


def _wait_leading(base: str) -> None:
    deadline = time.monotonic() + 30
    while requests.get(f"{base}/readyz", timeout=5).json().get("evaluator") != "leading":
        if time.monotonic() > deadline:
            raise RuntimeError("the evaluator never took the lead")
        time.sleep(0.2)


def _event_count(url: str) -> int:
    with psycopg.connect(database.libpq_url(url)) as connection:
        return int(connection.execute("SELECT count(*) FROM sla_events").fetchone()[0])  # type: ignore[index]


def api_during_pass(open_count: int, due_count: int) -> list[Row]:
    """p99 of GET /tickets/{id} and single POST /tickets while a pass records `due_count` events."""
    url = _evaluator_url()
    now = datetime.now(UTC).replace(microsecond=0)
    singles = [orjson.dumps(item) for item in snapshot_stream(100_000, seed=13, prefix="LIVE")]
    position = iter(range(len(singles)))

    def read(session: requests.Session) -> None:
        _get_ok(session, f"{api_base[0]}/tickets/B-{int(time.time() * 1000) % open_count + 1}")

    def write(session: requests.Session) -> None:
        _post_ok(session, f"{api_base[0]}/tickets", singles[next(position)])

    api_base: list[str] = []
    _load_open_tickets(url, open_count, due_count, now)
    with harness.api_process(url, SLA_EVALUATOR_ENABLED="false") as api:
        api_base[:] = [api.base]
        with harness.Sampler(read) as idle_reads, harness.Sampler(write) as idle_writes:
            time.sleep(5)
    with harness.api_process(url) as api:
        api_base[:] = [api.base]
        with (
            profiling.profiled(api.pid, "api-during-pass", database.libpq_url(url)),
            harness.Sampler(read) as busy_reads,
            harness.Sampler(write) as busy_writes,
        ):
            deadline = time.monotonic() + 300
            while _event_count(url) < due_count and time.monotonic() < deadline:
                time.sleep(0.1)
    return [
        Row(
            f"GET /tickets/{{id}} p99 during a pass recording {due_count:,} events",
            busy_reads.p99_ms(),
            "ms",
            idle_reads.p99_ms(),
            "same requests, evaluator idle",
            "< 100 ms",
            busy_reads.p99_ms() < 100,
        ),
        Row(
            "single POST /tickets p99 during that pass",
            busy_writes.p99_ms(),
            "ms",
            idle_writes.p99_ms(),
            "same requests, evaluator idle",
            "< 100 ms",
            busy_writes.p99_ms() < 100,
        ),
    ]


SWEEP_SECONDS = 5


def alert_latency(open_count: int, due_count: int, over_seconds: float) -> list[Row]:
    """`due_count` alerts falling due over `over_seconds`, sweeping every 5 s: p99 and max of detected - due."""
    url = _evaluator_url()
    _load_open_tickets(url, open_count, 0, datetime.now(UTC))
    # Dated only now, after the long load, so that none is already overdue when the API starts.
    with psycopg.connect(database.libpq_url(url), autocommit=True) as connection:
        connection.execute(
            "UPDATE tickets SET response_alert_at = now() + (8 + %(spread)s * substr(id, 3)::int / %(due)s)"
            " * interval '1 second', next_check_at = now() + (8 + %(spread)s * substr(id, 3)::int / %(due)s)"
            " * interval '1 second' WHERE id = ANY(%(ids)s)",
            {"spread": over_seconds, "due": due_count, "ids": [f"B-{n}" for n in range(1, due_count + 1)]},
        )
        # The load wrote a million rows: its checkpoint now, not in the middle of the window measured.
        connection.execute("CHECKPOINT")
    with harness.api_process(url, SLA_SWEEP_INTERVAL_SECONDS=str(SWEEP_SECONDS)) as api:
        _wait_leading(api.base)
        deadline = time.monotonic() + over_seconds + 60
        while _event_count(url) < due_count and time.monotonic() < deadline:
            time.sleep(0.5)
    with psycopg.connect(database.libpq_url(url)) as connection:
        p99, worst, recorded = connection.execute(
            "SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM detected_at - due_at)), "
            "max(extract(epoch FROM detected_at - due_at)), count(*) FROM sla_events"
        ).fetchone()  # type: ignore[misc]
    if recorded != due_count:
        raise RuntimeError(f"expected {due_count} alerts, recorded {recorded}")
    sweeps = int(over_seconds // SWEEP_SECONDS)
    return [
        Row(
            f"alert latency, {due_count:,} thresholds over {over_seconds:g} s ({sweeps} sweeps), {open_count:,} open:"
            " p99 detected - due",
            float(p99) * 1000,
            "ms",
            None,
            "-",
            "<= 100 ms",
            float(p99) <= 0.1,
        ),
        Row("  max detected - due", float(worst) * 1000, "ms", None, "-", "<= 250 ms", float(worst) <= 0.25),
    ]


def _writer_key(base: str, admin_key: str) -> str:
    """A key with the `tickets:write` scope, made through the API as an integration's would be."""
    response = requests.post(
        f"{base}/keys",
        json={"name": "bench-writer", "scopes": ["tickets:write"]},
        headers={"authorization": f"Bearer {admin_key}"},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["key"])


def access_cost(snapshot_count: int, seconds: int) -> list[Row]:
    """Batches and single snapshots with API keys checked, beside the same load with keys off.

    Measured off, on, on, off, and each side averaged, so that a machine getting slower or faster
    during the run weighs on both alike.
    """
    rounds = _round_bodies(snapshot_count, "AK")[:1]
    # A few batches first, so neither side is measured with cold caches and pools.
    warm_up = _round_bodies(4 * BATCH_SIZE, "WU")[:1]
    measured: dict[str, list[tuple[float, float | None]]] = {"off": [], "on": []}
    admin_key = "sla_" + secrets.token_urlsafe(32)
    for run, auth in enumerate(("off", "on", "on", "off")):
        url = harness.fresh_database(f"bench_keys_{run}")
        with harness.api_process(url, SLA_EVALUATOR_ENABLED="false", SLA_AUTH=auth, SLA_ADMIN_KEY=admin_key) as api:
            key = _writer_key(api.base, admin_key) if auth == "on" else ""
            headers = {"authorization": f"Bearer {key}"} if key else None
            _round_rates(f"{api.base}/tickets", warm_up, len(warm_up[0]) * BATCH_SIZE, headers)
            (batch_rate,) = _round_rates(f"{api.base}/tickets", rounds, snapshot_count, headers)
            single_rate = _wrk(api.base, seconds, key)[0] if shutil.which("wrk") else None
        measured[auth].append((batch_rate, single_rate))
    rates = {
        auth: (
            statistics.fmean(batch for batch, _ in runs),
            None if any(single is None for _, single in runs) else statistics.fmean(single or 0 for _, single in runs),
        )
        for auth, runs in measured.items()
    }
    (batch_on, single_on), (batch_off, single_off) = rates["on"], rates["off"]
    rows = [
        Row(
            "POST /tickets batches of 1,000 with a key checked",
            batch_on,
            "snapshots/s",
            batch_off,
            "same batches, SLA_AUTH=off",
            ">= 0.95 x without keys",
            batch_on >= 0.95 * batch_off,
        )
    ]
    if single_on is not None and single_off is not None:
        rows.append(
            Row(
                "POST /tickets one snapshot per request with a key checked (wrk)",
                single_on,
                "requests/s",
                single_off,
                "same load, SLA_AUTH=off",
                ">= 0.9 x without keys",
                single_on >= 0.9 * single_off,
            )
        )
    return rows
