"""`detected_at` is when an event became known, not when its pass began: milliseconds before its commit."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import requests

from api.kit import database
from bench.harness import api_process
from tests.builders import snapshot_json, wait_for
from tests.own_postgres import OwnPostgres

pytestmark = pytest.mark.slow

RESPONSE_ALERT = timedelta(seconds=765)  # high/gold in the seed config


@pytest.fixture
def postgres_with_commit_times(tmp_path: Path) -> Iterator[OwnPostgres]:
    """A server that records when each transaction committed."""
    server = OwnPostgres(tmp_path)
    server.start(track_commit_timestamp="on")
    try:
        yield server
    finally:
        server.stop()


def _commit_gaps(server_url: str, name: str) -> list[float]:
    """Seconds from each event's detected_at to the commit that made it visible, through a real API process."""
    url = database.create_database(server_url, name, replace=True)
    with api_process(url, SLA_LEADER_RETRY_SECONDS="0.2") as api:
        now = datetime.now(UTC)
        # 300 response alerts falling due over 3 seconds, from 2 seconds after the API is up.
        batch = [
            snapshot_json(f"D-{n}", created_at=now - RESPONSE_ALERT + timedelta(seconds=2 + n / 100))
            for n in range(300)
        ]
        assert requests.post(f"{api.base}/tickets", json=batch, timeout=30).status_code == 200
        with psycopg.connect(database.libpq_url(url), autocommit=True) as connection:

            def recorded() -> int:
                return int(connection.execute("SELECT count(*) FROM sla_events").fetchone()[0])  # type: ignore[index]

            wait_for(lambda: recorded() == len(batch), timeout=20)
            rows = connection.execute("SELECT pg_xact_commit_timestamp(xmin) - detected_at FROM sla_events")
            return [row[0].total_seconds() for row in rows]


def test_every_event_commits_within_50_ms_of_its_detected_at(postgres_with_commit_times: OwnPostgres) -> None:
    # A second try only when a first one was late: on a loaded 2-core machine a process may wait
    # that long for a core; a pass that takes its instant well before it writes is late every time.
    for attempt in range(2):
        gaps = _commit_gaps(postgres_with_commit_times.url, f"sla_detection_{attempt}")
        assert len(gaps) == 300
        assert min(gaps) >= 0
        if max(gaps) <= 0.05:
            return
    raise AssertionError(f"the latest commits came {sorted(gaps)[-5:]} s after detected_at")
