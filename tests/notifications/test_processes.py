"""Deliveries across real API processes: a process killed mid-attempt, and three replicas sharing the outbox."""

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from api.kit import clock, database
from bench.harness import api_process
from tests.builders import snapshot_json
from tests.conftest import SEED_CONFIG, fresh_database
from tests.receiver import Receiver, Reply, running_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_database(server_url: str) -> str:
    """An empty database that several API processes share."""
    url = fresh_database(server_url, "sla_replicas_test")
    database.migrate(url)
    return url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def write_config(tmp_path: Path, receiver: Receiver) -> str:
    path = tmp_path / "config" / "sla_config.yaml"
    path.parent.mkdir()
    path.write_text(f"{SEED_CONFIG}\nnotifications:\n  oncall:\n    url: {receiver.url()}\n    retries: [1s, 1s]\n")
    return str(path)


def post_overdue(base: str, ids: list[str]) -> None:
    created = clock.utc_now() - timedelta(hours=1)
    batch = [snapshot_json(ticket_id, created_at=created) for ticket_id in ids]
    assert requests.post(f"{base}/tickets", json=batch, timeout=30).status_code == 200


def delivered(base: str) -> list[dict[str, object]]:
    params: dict[str, str | int] = {"limit": 500, "status": "delivered"}
    items: list[dict[str, object]] = requests.get(f"{base}/notifications/deliveries", params=params, timeout=10).json()[
        "items"
    ]
    return items


def test_a_delivery_under_way_when_its_process_is_killed_is_delivered_after_the_restart(
    shared_database: str, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.script("/hook", Reply(200, delay=30))
    env = {"SLA_CONFIG_PATH": write_config(tmp_path, receiver), "SLA_NOTIFICATION_TIMEOUT_SECONDS": "3"}
    with api_process(shared_database, **env) as first:
        post_overdue(first.base, ["ZD-1"])
        deadline = time.monotonic() + 10
        while len(receiver.arrivals()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        in_flight = receiver.arrivals()
        assert len(in_flight) == 2
        os.kill(first.pid, signal.SIGKILL)
    assert receiver.received() == []

    with api_process(shared_database, **env) as second:
        receiver.script("/hook", Reply(200))
        answered = receiver.wait_for(2, timeout=20)
        assert sorted(request.headers["webhook-id"] for request in answered) == sorted(in_flight)
        time.sleep(0.5)
        assert len(delivered(second.base)) == 2


def test_three_replicas_deliver_every_event_once_and_never_attempt_one_twice_at_once(
    shared_database: str, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.script("/hook", Reply(200, delay=0.005))
    env = {"SLA_CONFIG_PATH": write_config(tmp_path, receiver)}
    with (
        api_process(shared_database, **env) as one,
        api_process(shared_database, **env),
        api_process(shared_database, **env),
    ):
        ids = [f"ZD-{n}" for n in range(200)]
        for start in range(0, len(ids), 50):
            post_overdue(one.base, ids[start : start + 50])
        answered = receiver.wait_for(400, timeout=60)
        time.sleep(1.0)
        attempts = Counter(receiver.arrivals())
        assert len(attempts) == 400
        assert set(attempts.values()) == {1}
        assert len(answered) == 400
        deadline = time.monotonic() + 10
        while len(delivered(one.base)) < 400 and time.monotonic() < deadline:
            time.sleep(0.1)
        statuses = requests.get(f"{one.base}/notifications", timeout=10).json()["items"][0]
        assert (statuses["delivered"], statuses["pending"], statuses["dead"]) == (400, 0, 0)
