"""Workloads of the notification outbox and the live streams: bursts to receivers, stream clients."""

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import requests

from api.kit import database
from api.sla.replay import NOTIFY_EARLIEST
from bench import harness
from bench.workloads import Row, _load_open_tickets, _wait_leading


@contextmanager
def _receiver() -> Any:
    """The fast receiver in a process of its own; yields its base URL."""
    port = harness.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.receiver_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=harness.ROOT,
        env=os.environ.copy(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/arrivals", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.kill()  # requests to /hang never finish, so a graceful stop would wait for ever
        process.wait(timeout=10)


def _config(destinations: dict[str, str]) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / "sla_config.yaml"
    section = "".join(f"  {name}:\n    url: {url}\n    kinds: [alert]\n" for name, url in destinations.items())
    path.write_text((harness.ROOT / "sla_config.yaml").read_text() + f"\nnotifications:\n{section}")
    return path


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def _burst(url: str, burst: int, *, with_dead_destination: bool) -> tuple[float, float, float]:
    """`burst` alerts falling due at once: (first attempt p99 after recording, deliveries/s, alert latency p99)."""
    now = datetime.now(UTC)
    _load_open_tickets(url, burst, burst, now, due_from=8.0, spread=0.0)
    with _receiver() as receiver:
        destinations = {"fast": f"{receiver}/fast"}
        if with_dead_destination:
            destinations["silent"] = f"{receiver}/hang"
        with harness.api_process(url, SLA_CONFIG_PATH=str(_config(destinations))) as api:
            _wait_leading(api.base)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                arrivals = requests.get(f"{receiver}/arrivals", timeout=10).json()
                if len(arrivals) >= burst:
                    break
                time.sleep(0.5)
    first: dict[int, float] = {}
    for webhook_id, at in arrivals:
        delivery = int(webhook_id.rsplit("_", 1)[-1])
        first[delivery] = min(first.get(delivery, at), at)
    with psycopg.connect(database.libpq_url(url)) as connection:
        rows = connection.execute(
            "SELECT d.id, extract(epoch FROM e.detected_at), extract(epoch FROM e.detected_at - e.due_at) "
            "FROM notification_deliveries d JOIN sla_events e ON e.id = d.event_id WHERE d.destination = 'fast'"
        ).fetchall()
    waits = [first[row[0]] - float(row[1]) for row in rows if row[0] in first]
    if len(waits) < burst:
        raise RuntimeError(f"{len(waits)} of {burst} deliveries arrived")
    span = max(first.values()) - min(first.values())
    return _percentile(waits, 0.99), burst / max(span, 1e-6), _percentile([float(row[2]) for row in rows], 0.99)


def deliveries(burst: int) -> list[Row]:
    """A burst of alerts to a fast receiver, alone and beside a destination that never answers."""
    url = harness.fresh_database("bench_notify")
    alone = _burst(url, burst, with_dead_destination=False)
    beside = _burst(url, burst, with_dead_destination=True)
    return [
        Row(
            f"burst of {burst:,} events to a fast receiver: first attempt p99 after recording",
            alone[0],
            "s",
            None,
            "-",
            "<= 1 s",
            alone[0] <= 1.0,
        ),
        Row(
            "  deliveries per second, one process", alone[1], "deliveries/s", None, "-", ">= 1,000/s", alone[1] >= 1000
        ),
        Row(
            "  the same beside a destination that never answers: first attempt p99",
            beside[0],
            "s",
            alone[0],
            "alone",
            "<= 1.2 x alone",
            beside[0] <= 1.2 * alone[0] or beside[0] <= 0.1,
        ),
        Row(
            "  alert latency (detected - due) p99 meanwhile",
            beside[2],
            "s",
            alone[2],
            "alone",
            "<= 1.2 x alone",
            beside[2] <= 1.2 * alone[2] or beside[2] <= 0.05,
        ),
    ]


async def _listen(base: str, arrivals: list[tuple[int, float]], ready: threading.Event, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=None) as client, client.stream("GET", f"{base}/events/stream") as response:
        ready.set()
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                arrivals.append((int(line[3:].strip()), time.time()))
            if stop.is_set():
                return


def _stream_clients(
    bases: list[str], ready: list[threading.Event], arrivals: list[tuple[int, float]], done: threading.Event
) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(_listen(bases[number % len(bases)], arrivals, connected, stop))
            for number, connected in enumerate(ready)
        ]
        while not done.is_set():
            await asyncio.sleep(0.2)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


def streams(clients: int, events: int, over_seconds: float) -> list[Row]:
    """`clients` SSE clients on two API processes while `events` alerts fall due over `over_seconds`.

    The alerts are loaded once every client is connected, due from 2 s later, and announced to the
    evaluator as ingestion announces deadlines, so that a slow start cannot make clients miss events.
    """
    url = harness.fresh_database("bench_streams")
    arrivals: list[tuple[int, float]] = []
    done = threading.Event()
    ready = [threading.Event() for _ in range(clients)]
    with harness.api_process(url) as first, harness.api_process(url, SLA_EVALUATOR_ENABLED="false") as second:
        _wait_leading(first.base)
        reader = threading.Thread(target=_stream_clients, args=([first.base, second.base], ready, arrivals, done))
        reader.start()
        for connected in ready:
            if not connected.wait(timeout=60):
                raise RuntimeError("a stream client could not connect")
        _load_open_tickets(url, events, events, datetime.now(UTC), due_from=2.0, spread=over_seconds)
        with psycopg.connect(database.libpq_url(url), autocommit=True) as connection:
            connection.execute(f"WITH written AS (SELECT next_check_at FROM tickets) {NOTIFY_EARLIEST}")
        deadline = time.monotonic() + over_seconds + 60
        while len(arrivals) < clients * events and time.monotonic() < deadline:
            time.sleep(0.5)
        done.set()
        reader.join(timeout=30)
    with psycopg.connect(database.libpq_url(url)) as connection:
        rows = connection.execute("SELECT id, extract(epoch FROM detected_at) FROM sla_events").fetchall()
    detected: dict[int, float] = {int(row[0]): float(row[1]) for row in rows}
    delays = [at - detected[event] for event, at in arrivals if event in detected]
    p99 = _percentile(delays, 0.99)
    complete = len(delays) == clients * events
    return [
        Row(
            f"{clients} stream clients on 2 processes, {events:,} events over {over_seconds:g} s: event to client p99",
            p99,
            "s",
            None,
            f"{len(delays):,} of {clients * events:,} received",
            "<= 1 s, all received",
            p99 <= 1.0 and complete,
        )
    ]
