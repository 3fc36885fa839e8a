"""Faults as tests: the database going away and coming back, and a leader frozen in the middle of its work."""

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import requests

from api.kit import database
from bench.harness import api_process
from tests.builders import snapshot_json
from tests.conftest import fresh_database
from tests.own_postgres import OwnPostgres

pytestmark = pytest.mark.slow


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[OwnPostgres]:
    server = OwnPostgres(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def timed(call: object) -> tuple[float, requests.Response]:
    started = time.monotonic()
    response = call()  # type: ignore[operator]
    return time.monotonic() - started, response


def until_ok(call: object, timeout: float = 10.0) -> float:
    """Seconds until `call` answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if call().status_code == 200:  # type: ignore[operator]
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"no 200 within {timeout} s")


def test_requests_answer_503_within_2_s_while_the_database_is_away_and_recover_within_2_s(
    own_postgres: OwnPostgres,
) -> None:
    url = database.create_database(own_postgres.url, "sla_outage")
    with api_process(url, SLA_LEADER_RETRY_SECONDS="0.2") as api:
        now = datetime.now(UTC)
        soon = [snapshot_json(f"O-{n}", created_at=now - timedelta(seconds=765 - 3 - n)) for n in range(4)]
        assert requests.post(f"{api.base}/tickets", json=soon, timeout=10).status_code == 200
        requests.get(f"{api.base}/tickets", timeout=10)

        own_postgres.stop()
        outage_began = datetime.now(UTC)
        for call in (
            lambda: requests.get(f"{api.base}/tickets", timeout=10),
            lambda: requests.post(f"{api.base}/tickets", json=[snapshot_json("O-x", created_at=now)], timeout=10),
            lambda: requests.get(f"{api.base}/alerts", timeout=10),
        ):
            for _ in range(3):
                took, response = timed(call)
                assert response.status_code == 503, response.text
                assert response.json()["error"] == "service_unavailable"
                assert took < 2.0
        assert requests.get(f"{api.base}/healthz", timeout=5).status_code == 200
        assert requests.get(f"{api.base}/readyz", timeout=10).status_code == 503
        time.sleep(8 - (datetime.now(UTC) - outage_began).total_seconds())

        own_postgres.start()
        assert until_ok(lambda: requests.get(f"{api.base}/tickets", timeout=5)) < 2.0
        writing = lambda: requests.post(  # noqa: E731
            f"{api.base}/tickets", json=[snapshot_json("O-y", created_at=now)], timeout=5
        )
        assert until_ok(writing) < 2.0
        assert until_ok(lambda: requests.get(f"{api.base}/readyz", timeout=5), timeout=15) < 15

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            alerts = requests.get(f"{api.base}/alerts", params={"kind": "alert"}, timeout=5).json()["items"]
            if len(alerts) == 4:
                break
            time.sleep(0.2)
        assert sorted(alert["ticket_id"] for alert in alerts) == [f"O-{n}" for n in range(4)]
        assert all(datetime.fromisoformat(alert["due_at"]) >= outage_began for alert in alerts)


def _leading(base: str) -> bool:
    try:
        return bool(requests.get(f"{base}/readyz", timeout=2).json().get("evaluator") == "leading")
    except requests.RequestException:
        return False


def test_a_frozen_leader_is_replaced_within_10_s_and_duplicates_nothing_when_it_wakes(server_url: str) -> None:
    url = fresh_database(server_url, "sla_frozen_leader_test")
    database.migrate(url)
    env = {"SLA_LEADER_RETRY_SECONDS": "0.5"}
    with api_process(url, **env) as first, api_process(url, **env) as second:
        deadline = time.monotonic() + 10
        while not (_leading(first.base) or _leading(second.base)):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        leader, standby = (first, second) if _leading(first.base) else (second, first)
        now = datetime.now(UTC)
        # Response alerts (765 s for high/gold) falling due one every half second over the next 20 s.
        stream = [snapshot_json(f"F-{n}", created_at=now - timedelta(seconds=765 - 1 - n / 2)) for n in range(40)]
        assert requests.post(f"{standby.base}/tickets", json=stream, timeout=10).status_code == 200

        time.sleep(2)
        os.kill(leader.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            while not _leading(standby.base):
                assert time.monotonic() - frozen_at < 10, "the standby did not take over within 10 s"
                time.sleep(0.1)
            took_over = time.monotonic() - frozen_at
            time.sleep(12)
        finally:
            os.kill(leader.pid, signal.SIGCONT)
        time.sleep(3)
        assert not _leading(leader.base)

        with psycopg.connect(url) as connection:
            rows = connection.execute(
                "SELECT ticket_id, clock, kind, extract(epoch FROM detected_at - due_at) FROM sla_events "
                "WHERE kind = 'alert'"
            ).fetchall()
        assert sorted(row[0] for row in rows) == sorted(f"F-{n}" for n in range(40))
        assert len({(row[0], row[1], row[2]) for row in rows}) == len(rows)
        assert max(float(row[3]) for row in rows) < took_over + 2
