"""The live streams on real API processes: every event once, in order, resumable on any replica."""

import json
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
import requests
from websockets.sync.client import connect

from api.kit import clock, database
from bench.harness import api_process
from tests.builders import snapshot_json
from tests.conftest import fresh_database

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_database(server_url: str) -> str:
    url = fresh_database(server_url, "sla_streams_test")
    database.migrate(url)
    return url


def post_overdue(base: str, ids: list[str], hours: float = 1) -> None:
    created = clock.utc_now() - timedelta(hours=hours)
    batch = [snapshot_json(ticket_id, created_at=created) for ticket_id in ids]
    assert requests.post(f"{base}/tickets", json=batch, timeout=30).status_code == 200


def sse_events(
    base: str, count: int, *, headers: dict[str, str] | None = None, params: str = ""
) -> list[dict[str, Any]]:
    """Read `count` events from the SSE stream, then hang up."""
    found: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{base}/events/stream{params}", headers=headers or {}, timeout=20) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event: dict[str, Any] = {}
        for line in response.iter_lines():
            if line.startswith("id:"):
                event["id"] = int(line.removeprefix("id:").strip())
            elif line.startswith("event:"):
                event["event"] = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                event["data"] = json.loads(line.removeprefix("data:").strip())
            elif not line and event:
                found.append(event)
                event = {}
                if len(found) == count:
                    return found
    return found


def all_event_ids(base: str) -> list[int]:
    items = requests.get(f"{base}/alerts", params={"limit": 500}, timeout=10).json()["items"]
    return sorted(item["id"] for item in items)


def wait_for_events(base: str, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while len(ids := all_event_ids(base)) < count:
        assert time.monotonic() < deadline, f"{len(ids)} of {count} events recorded"
        time.sleep(0.1)
    return ids


def test_a_client_that_reconnects_to_another_replica_gets_exactly_what_it_missed_in_order(
    shared_database: str,
) -> None:
    with api_process(shared_database) as first, api_process(shared_database) as second:
        received: list[dict[str, Any]] = []
        reader = threading.Thread(target=lambda: received.extend(sse_events(first.base, 6)))
        reader.start()
        time.sleep(1.0)
        post_overdue(first.base, ["A-1", "A-2", "A-3"])
        reader.join(timeout=20)
        assert sorted(event["event"] for event in received) == ["sla.alert"] * 3 + ["sla.breach"] * 3
        post_overdue(second.base, [f"B-{n}" for n in range(10)])
        ids = wait_for_events(first.base, 26)

        resumed = sse_events(second.base, 20, headers={"Last-Event-ID": str(received[-1]["id"])})

        assert [event["id"] for event in received + resumed] == ids
        assert all(event["event"] == f"sla.{event['data']['kind']}" for event in resumed)
        assert resumed[0]["data"]["ticket_id"].startswith("B-")


def test_after_resumes_and_filters_pick_events_like_alerts_does(shared_database: str) -> None:
    with api_process(shared_database) as api:
        post_overdue(api.base, [f"F-{n}" for n in range(5)])
        ids = wait_for_events(api.base, 10)
        breaches = sse_events(api.base, 4, params=f"?after={ids[1]}&kind=breach")
        assert [event["event"] for event in breaches] == ["sla.breach"] * 4
        assert all(event["id"] > ids[1] for event in breaches)
        assert [event["id"] for event in breaches] == sorted(event["id"] for event in breaches)


def test_the_websocket_stream_sends_one_json_message_per_event_and_resumes_with_after(shared_database: str) -> None:
    with api_process(shared_database) as api:
        post_overdue(api.base, ["W-1", "W-2"])
        ids = wait_for_events(api.base, 4)
        with connect(f"ws://{api.base.removeprefix('http://')}/events/ws?after={ids[0]}") as socket:
            messages = [json.loads(socket.recv(timeout=10)) for _ in range(3)]
            post_overdue(api.base, ["W-3"])
            messages += [json.loads(socket.recv(timeout=10)) for _ in range(2)]
        assert [message["id"] for message in messages] == wait_for_events(api.base, 6)[1:]
        assert {message["type"] for message in messages} == {"sla.alert", "sla.breach"}
        assert messages[0]["data"]["id"] == messages[0]["id"]


def test_a_keepalive_comment_keeps_an_idle_stream_open(shared_database: str) -> None:
    with api_process(shared_database) as api, httpx.stream("GET", f"{api.base}/events/stream", timeout=30) as response:
        started = time.monotonic()
        for line in response.iter_lines():
            if line.startswith(":"):
                break
        assert 10 <= time.monotonic() - started <= 20


def test_streams_use_one_listen_connection_per_process(shared_database: str) -> None:
    with api_process(shared_database) as api:
        streams = [httpx.stream("GET", f"{api.base}/events/stream", timeout=20) for _ in range(5)]
        for stream in streams:
            stream.__enter__()
        try:
            with psycopg.connect(shared_database) as connection:
                listening = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
                ).fetchone()
            assert listening is not None
            assert listening[0] <= 2  # the streams' listener, and the evaluator's own
        finally:
            for stream in streams:
                stream.__exit__(None, None, None)
