"""Every dashboard page's API calls at scale: `python -m bench dashboard [--tiny | --quick | --tickets N]`.

The calls are the dashboard's own (`dashboard.api_client`), made as each page makes them on one
refresh, against one API process with its evaluator, over `tickets` stored tickets (1,000,000 in
the full mode) plus a realistic stream of snapshots sent through the API, so that some tickets are
breached, events are recorded and the ticket shown has a history. Goal: each page within 2 s.
"""

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import requests

from bench import harness, workloads
from bench.data import batches, snapshot_stream
from dashboard import api_client, transforms

GOAL_SECONDS = 2.0
OPEN = list(transforms.OPEN_STATUSES)


def page_calls(ticket_id: str) -> dict[str, list[Callable[[], object]]]:
    """The API calls of one refresh of each page, in the order the page makes them."""
    status_panel: list[Callable[[], object]] = [lambda: api_client.alerts(limit=20, kind=["breach"], after=0)]
    return {
        "overview": [
            *status_panel,
            lambda: api_client.summary("24h"),
            api_client.notifications,
            api_client.config,
            lambda: api_client.tickets(limit=10, status=OPEN, sla_state=["ok", "at_risk"]),
        ],
        "overview 30 days": [*status_panel, lambda: api_client.summary("30d")],
        "tickets": [*status_panel, api_client.config, lambda: api_client.tickets(limit=50, status=OPEN)],
        "tickets, breached": [
            *status_panel,
            api_client.config,
            lambda: api_client.tickets(limit=200, status=OPEN, sla_state=["breached"]),
        ],
        "alerts": [*status_panel, api_client.config, lambda: api_client.alerts(limit=50)],
        "ticket detail": [*status_panel, api_client.config, lambda: api_client.ticket(ticket_id)],
        "config": [*status_panel, api_client.config],
    }


def _page_seconds(calls: list[Callable[[], object]]) -> float:
    started = time.perf_counter()
    for call in calls:
        call()
    return time.perf_counter() - started


def _send_stream(base: str, count: int) -> str:
    """POST a realistic snapshot stream in batches; returns the id of a ticket with several snapshots."""
    stream = snapshot_stream(count, prefix="DASH")
    session = requests.Session()
    for batch in batches(stream, 1000):
        response = session.post(
            f"{base}/tickets", data=orjson.dumps(batch), headers={"content-type": "application/json"}, timeout=120
        )
        response.raise_for_status()
    counts: dict[str, int] = {}
    for snapshot in stream:
        counts[snapshot["id"]] = counts.get(snapshot["id"], 0) + 1
    return max(counts, key=lambda ticket_id: counts[ticket_id])


def pages(tickets: int, *, rounds: int = 20) -> list[workloads.Row]:
    """Each page's refresh timed `rounds` times over `tickets` stored tickets; one row per page (p99)."""
    url = harness.fresh_database("bench_dashboard")
    workloads._load_open_tickets(url, tickets, tickets // 10, datetime.now(UTC), due_from=-3600.0)
    with harness.api_process(url) as api:
        ticket_id = _send_stream(api.base, min(20_000, max(1_000, tickets // 50)))
        os.environ["SLA_API_URL"] = api.base
        calls = page_calls(ticket_id)
        for page in calls.values():
            _page_seconds(page)  # warm the connection and the database's caches
        timings = {name: [_page_seconds(page) for _ in range(rounds)] for name, page in calls.items()}
    label = f"{tickets:,} stored"
    rows = []
    for name, seconds in timings.items():
        p99 = harness.LoadResult(len(seconds), 1, seconds).percentile(0.99)
        rows.append(
            workloads.Row(
                f"dashboard {name} page, all its API calls, p99, {label}",
                p99 * 1000,
                "ms",
                None,
                "-",
                f"<= {GOAL_SECONDS * 1000:,.0f} ms",
                p99 <= GOAL_SECONDS,
            )
        )
    return rows
