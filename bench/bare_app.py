"""The baseline of single-snapshot ingestion: a bare FastAPI endpoint doing one INSERT."""

import os
from typing import Any

from fastapi import Body, FastAPI
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=4, max_size=8, open=True)
with pool.connection() as connection:
    connection.execute("CREATE TABLE IF NOT EXISTS bare_tickets (id text PRIMARY KEY, body jsonb)")

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer the harness."""
    return {"status": "ok"}


@app.post("/tickets")
def post(snapshot: dict[str, Any] = Body()) -> dict[str, int]:  # noqa: B008 (FastAPI's idiom)
    """Insert one snapshot as it came."""
    with pool.connection() as connection:
        connection.execute(
            "INSERT INTO bare_tickets (id, body) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (snapshot["id"], Jsonb(snapshot)),
        )
    return {"created": 1}
