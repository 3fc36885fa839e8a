"""Apply a validated batch in a transaction: the ingestion steps on a blocking or an asyncio connection."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import psycopg
from sqlalchemy.orm import Session

from api.kit.steps import attempts, run_steps, run_steps_async
from api.sla_config.store import ActiveConfig
from api.tickets.ingestion import IngestReport, ingest_steps
from api.tickets.schemas import SnapshotIn


def ingest(
    session: Session,
    *,
    snapshots: Sequence[SnapshotIn],
    active: ActiveConfig,
    now: datetime,
    source: str | None = None,
) -> IngestReport:
    """Apply a batch in the session's transaction; a lost race with another writer is run again.

    The transaction plans without sequential scans from then on (`statements.BY_KEY_ONLY`): commit it.
    """
    for attempt in attempts():
        with attempt:
            connection = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
            report: IngestReport = run_steps(connection, ingest_steps(snapshots, active, now, source))
            return report
        session.rollback()
    raise AssertionError("attempts() raises the last failure")


async def ingest_async(
    connection: psycopg.AsyncConnection[Any],
    *,
    snapshots: Sequence[SnapshotIn],
    active: ActiveConfig,
    now: datetime,
    source: str | None = None,
) -> IngestReport:
    """Apply and commit a batch on the connection; a lost race with another writer is run again.

    The COMMIT goes with the last write, in its round trip, or after READ_LOCKED's answer when
    nothing was left to write.
    """
    for attempt in attempts():
        with attempt:
            steps = ingest_steps(snapshots, active, now, source, commit=True)
            report: IngestReport = await run_steps_async(connection, steps)
            await connection.commit()  # nothing to do when the COMMIT went with the last write
            return report
        await connection.rollback()
    raise AssertionError("attempts() raises the last failure")
