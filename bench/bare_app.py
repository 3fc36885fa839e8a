"""Baselines of ingestion: a bare FastAPI endpoint doing one INSERT, and the ceiling of batch ingestion.

`POST /tickets` inserts one snapshot as it came. `POST /batch` writes the rows the service writes
for a batch (every distinct snapshot into `ticket_snapshots`, the newest of each ticket into
`tickets`, with their indexes and count triggers) in one set-based statement, computing no clock:
what PostgreSQL allows for those rows, which the service's batches are measured against.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Body, FastAPI, Request
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, ConnectionPool

pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=4, max_size=8, open=True)
with pool.connection() as connection:
    connection.execute("CREATE TABLE IF NOT EXISTS bare_tickets (id text PRIMARY KEY, body jsonb)")
batch_pool = AsyncConnectionPool(os.environ["DATABASE_URL"], min_size=4, max_size=8, open=False)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Open the batch endpoint's pool on the server's event loop."""
    await batch_pool.open()
    yield
    await batch_pool.close()


app = FastAPI(lifespan=lifespan)

# Targets as constants: the ceiling writes the same columns, it does not compute them.
WRITE_BATCH = """
    WITH incoming AS (
        SELECT * FROM jsonb_to_recordset(%(batch)s::jsonb)
            AS s (id text, priority text, customer_tier text, created_at timestamptz, updated_at timestamptz,
                  status text, first_response_at timestamptz)
    ), history AS (
        INSERT INTO ticket_snapshots (ticket_id, updated_at, priority, customer_tier, created_at, status,
                                      first_response_at, received_at, source)
        SELECT DISTINCT ON (id, updated_at) id, updated_at, priority, customer_tier, created_at, status,
               first_response_at, now(), 'ceiling'
        FROM incoming
        ORDER BY id, updated_at, status DESC
        ON CONFLICT (ticket_id, updated_at) DO NOTHING
        RETURNING 1
    ), newest AS (
        SELECT DISTINCT ON (id) * FROM incoming ORDER BY id, updated_at DESC, status DESC
    )
    INSERT INTO tickets AS t (id, priority, customer_tier, status, created_at, updated_at, first_response_at,
                              received_at, config_version,
                              response_phase, response_elapsed_us, response_running_since, response_target_us,
                              response_alert_at, response_due_at,
                              resolution_phase, resolution_elapsed_us, resolution_running_since,
                              resolution_target_us, resolution_alert_at, resolution_due_at, next_check_at)
    SELECT id, priority, customer_tier, status, created_at, updated_at, first_response_at, now(), 1,
           'running', 0, created_at, 900000000, created_at + interval '765 seconds',
           created_at + interval '900 seconds',
           'running', 0, created_at, 10800000000, created_at + interval '9180 seconds',
           created_at + interval '10800 seconds', created_at + interval '765 seconds'
    FROM newest
    ORDER BY id
    ON CONFLICT (id) DO UPDATE SET
        status = excluded.status, updated_at = excluded.updated_at, received_at = excluded.received_at,
        first_response_at = excluded.first_response_at, response_phase = excluded.response_phase,
        resolution_phase = excluded.resolution_phase
    WHERE t.updated_at < excluded.updated_at
"""


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


@app.post("/batch")
async def post_batch(request: Request) -> dict[str, int]:
    """Write a batch's history and newest rows in one statement, as the service's tables hold them.

    One snapshot object is taken as a batch of one, so that the ceiling also serves single snapshots.
    """
    body = await request.body()
    if body.lstrip().startswith(b"{"):
        body = b"[" + body + b"]"
    async with batch_pool.connection() as connection:
        await connection.execute(WRITE_BATCH, {"batch": body.decode()})
    return {"accepted": 1}
