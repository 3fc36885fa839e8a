"""Ingestion of snapshot batches: set-based, idempotent and independent of delivery order.

A batch runs in three statements whatever its size: lock (creating) every ticket it names, read
the stored history of those that existed, then, with each snapshot's outcome decided in memory,
write the new history rows and rewrite the current state and clock summary of every ticket that
changed.

The steps are written once, free of I/O, as a generator of statements; a blocking driver runs them
on a SQLAlchemy session's connection, an asyncio driver on a pooled async connection.
"""

from collections import defaultdict
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import orjson
import psycopg
from psycopg import errors as pg_errors
from sqlalchemy.orm import Session

from api.sla import planning
from api.sla.planning import Snapshot, SnapshotFields
from api.sla_config.store import ActiveConfig
from api.tickets.schemas import Outcome, SnapshotIn

WAKEUP_CHANNEL = "sla_wakeup"

SNAPSHOT_RECORD = (
    "id text, updated_at timestamptz, priority text, customer_tier text, created_at timestamptz, "
    "status text, first_response_at timestamptz"
)
CLOCK_RECORD = ", ".join(
    f"{clock}_phase text, {clock}_elapsed_us bigint, {clock}_running_since timestamptz, "
    f"{clock}_target_us bigint, {clock}_alert_at timestamptz, {clock}_due_at timestamptz"
    for clock in ("response", "resolution")
)
CLOCK_COLUMNS = [
    f"{clock}_{part}"
    for clock in ("response", "resolution")
    for part in ("phase", "elapsed_us", "running_since", "target_us", "alert_at", "due_at")
]

# The one statement that takes every lock a batch needs, in id order, so that concurrent batches
# naming the same tickets queue instead of deadlocking. Each ticket's row is computed from the
# batch alone: a new ticket is inserted whole; for an existing one `DO UPDATE ... WHERE false`
# writes nothing but takes the row lock (which `DO NOTHING` would not). RETURNING names the new.
CLAIM = f"""
    INSERT INTO tickets (id, priority, customer_tier, status, created_at, updated_at, first_response_at,
                         received_at, config_version, {", ".join(CLOCK_COLUMNS)})
    SELECT r.id, r.priority, r.customer_tier, r.status, r.created_at, r.updated_at, r.first_response_at,
           %(now)s, %(version)s, {", ".join(f"r.{column}" for column in CLOCK_COLUMNS)}
    FROM json_to_recordset(CAST(%(rows)s AS json)) AS r({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    ORDER BY r.id
    ON CONFLICT (id) DO UPDATE SET id = excluded.id WHERE false
    RETURNING id, next_check_at
"""

# Run after CLAIM, once every lock is held, so its snapshot holds whatever a writer of the same
# tickets committed before.
READ_HISTORY = """
    SELECT ticket_id, updated_at, priority, customer_tier, created_at, status, first_response_at
    FROM ticket_snapshots WHERE ticket_id = ANY(%(ids)s)
"""

WRITE_HISTORY_SQL = f"""
    INSERT INTO ticket_snapshots (ticket_id, updated_at, priority, customer_tier, created_at, status,
                                  first_response_at, received_at)
    SELECT r.id, r.updated_at, r.priority, r.customer_tier, r.created_at, r.status, r.first_response_at, %(now)s
    FROM json_to_recordset(CAST(%(history)s AS json)) AS r({SNAPSHOT_RECORD})
    ON CONFLICT (ticket_id, updated_at) DO UPDATE SET
        priority = excluded.priority, customer_tier = excluded.customer_tier, created_at = excluded.created_at,
        status = excluded.status, first_response_at = excluded.first_response_at, received_at = excluded.received_at
"""

WRITE_CURRENT_SQL = f"""
    UPDATE tickets AS t SET
        priority = r.priority, customer_tier = r.customer_tier, status = r.status, created_at = r.created_at,
        updated_at = r.updated_at, first_response_at = r.first_response_at, received_at = %(now)s,
        config_version = %(version)s,
        {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)}
    FROM json_to_recordset(CAST(%(rows)s AS json)) AS r({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    WHERE t.id = r.id
    RETURNING t.next_check_at
"""

WRITE_CLOCKS_SQL = f"""
    UPDATE tickets AS t SET
        config_version = %(version)s,
        {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)}
    FROM json_to_recordset(CAST(%(rows)s AS json)) AS r(id text, {CLOCK_RECORD})
    WHERE t.id = r.id
    RETURNING t.next_check_at
"""

# Written tickets announce their earliest deadline on commit, so the evaluator (in whichever
# process leads) wakes up for it; one statement does the writes and the announcement.
NOTIFY_EARLIEST = f"""
    SELECT pg_notify('{WAKEUP_CHANNEL}', to_char(min(next_check_at) AT TIME ZONE 'UTC',
                                                'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
    FROM written
    HAVING min(next_check_at) IS NOT NULL
"""

WRITE_BATCH = f"""
    WITH history AS ({WRITE_HISTORY_SQL} RETURNING 1),
         updated AS ({WRITE_CURRENT_SQL}),
         written AS (SELECT next_check_at FROM updated UNION ALL SELECT CAST(%(created_earliest)s AS timestamptz)),
         notified AS ({NOTIFY_EARLIEST})
    SELECT (SELECT count(*) FROM notified) AS notified
"""


WRITE_CLOCKS = f"WITH written AS ({WRITE_CLOCKS_SQL}) {NOTIFY_EARLIEST}"

# A statement in psycopg's parameter style and its parameters.
Statement = tuple[str, dict[str, Any]]
Rows = list[tuple[Any, ...]]
# Yields statements to run in order, receives the rows of each, returns what the steps made.
Steps = Generator[list[Statement], list[Rows], Any]


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What happened to one snapshot of a batch."""

    id: str
    outcome: Outcome


@dataclass(slots=True)
class IngestReport:
    """Counts per outcome and the outcome of every snapshot, in the order they were sent."""

    results: list[SnapshotResult]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    conflict: int = 0


def _json(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows).decode()


def _snapshot_row(snapshot: SnapshotFields) -> dict[str, Any]:
    """The snapshot's fields by name: both kinds of snapshot keep exactly those in their __dict__."""
    return vars(snapshot)


@dataclass(slots=True)
class _TicketHistory:
    """What is known of one ticket while a batch is applied to it in order."""

    snapshots: dict[datetime, SnapshotFields] = field(default_factory=dict)
    newest: datetime | None = None
    changed: bool = False

    def add(self, snapshot: SnapshotFields) -> None:
        self.snapshots[snapshot.updated_at] = snapshot
        if self.newest is None or snapshot.updated_at > self.newest:
            self.newest = snapshot.updated_at


def _apply(history: _TicketHistory, snapshot: SnapshotFields) -> tuple[Outcome, bool]:
    """The outcome of one snapshot against what is known so far, and whether history changed."""
    newest = history.newest
    stored = history.snapshots.get(snapshot.updated_at)
    if newest is None:
        outcome: Outcome = "created"
    elif stored is not None:
        if planning.content(stored) == planning.content(snapshot):
            return "unchanged", False
        if planning.rank(snapshot) <= planning.rank(stored):
            return "conflict", False
        outcome = "updated" if snapshot.updated_at == newest else "stale"
    else:
        outcome = "updated" if snapshot.updated_at > newest else "stale"
    history.add(snapshot)
    return outcome, True


RETRYABLE_ERRORS = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
ATTEMPTS = 3


def _driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under the session, inside the session's transaction."""
    return cast(psycopg.Connection[Any], session.connection().connection.driver_connection)


def run_steps(connection: psycopg.Connection[Any], steps: Steps) -> Any:
    """Run I/O-free steps on a blocking connection, the statements of each yield in order."""
    try:
        statements = next(steps)
        while True:
            statements = steps.send([connection.execute(sql, params).fetchall() for sql, params in statements])
    except StopIteration as done:
        return done.value


async def run_steps_async(connection: psycopg.AsyncConnection[Any], steps: Steps) -> Any:
    """Run I/O-free steps on an asyncio connection, the statements of each yield in order.

    Not in pipeline mode: psycopg drives a pipeline in Python, which cost more than the round
    trip it saves, measured with one snapshot per request.
    """
    try:
        statements = next(steps)
        while True:
            results = []
            for sql, params in statements:
                cursor = await connection.execute(sql, params)
                results.append(await cursor.fetchall())
            statements = steps.send(results)
    except StopIteration as done:
        return done.value


def ingest(session: Session, *, snapshots: Sequence[SnapshotIn], active: ActiveConfig, now: datetime) -> IngestReport:
    """Apply a validated batch in the session's transaction; a serialization failure is retried."""
    for attempt in range(ATTEMPTS):
        try:
            report: IngestReport = run_steps(_driver_connection(session), ingest_steps(snapshots, active, now))
            return report
        except RETRYABLE_ERRORS:  # raised by psycopg itself: the steps run on the driver's connection
            if attempt == ATTEMPTS - 1:
                raise
            session.rollback()
    raise AssertionError("unreachable")


async def ingest_async(
    connection: psycopg.AsyncConnection[Any], *, snapshots: Sequence[SnapshotIn], active: ActiveConfig, now: datetime
) -> IngestReport:
    """Apply a validated batch in the connection's transaction; a serialization failure is retried."""
    for attempt in range(ATTEMPTS):
        try:
            report: IngestReport = await run_steps_async(connection, ingest_steps(snapshots, active, now))
            return report
        except RETRYABLE_ERRORS:
            if attempt == ATTEMPTS - 1:
                raise
            await connection.rollback()
    raise AssertionError("unreachable")


def _within_batch(batch: Sequence[SnapshotFields]) -> dict[str, dict[datetime, SnapshotFields]]:
    """Each ticket's history as the batch alone tells it: one winner per instant."""
    histories: dict[str, dict[datetime, SnapshotFields]] = defaultdict(dict)
    for snapshot in batch:
        known = histories[snapshot.id].get(snapshot.updated_at)
        if known is None or planning.rank(snapshot) > planning.rank(known):
            histories[snapshot.id][snapshot.updated_at] = snapshot
    return histories


def _row(snapshots: dict[datetime, SnapshotFields], active: ActiveConfig) -> dict[str, Any]:
    current = snapshots[max(snapshots)]
    return {**_snapshot_row(current), **planning.plan_clocks(current, snapshots.values(), active.config)}


def ingest_steps(snapshots: Sequence[SnapshotIn], active: ActiveConfig, now: datetime) -> Steps:
    """The statements of one batch and the decisions between them, free of I/O."""
    params = {"now": now, "version": active.version}
    within = _within_batch(snapshots)
    claimed = [_row(history, active) for history in within.values()]
    (claim_rows,) = yield [(CLAIM, {**params, "rows": _json(claimed)})]
    created: dict[str, datetime | None] = dict(claim_rows)
    histories: dict[str, _TicketHistory] = {ticket_id: _TicketHistory() for ticket_id in within}
    # A ticket this batch created has no history yet: its history is written with it, below.
    existing = [ticket_id for ticket_id in within if ticket_id not in created]
    if existing:
        (history_rows,) = yield [(READ_HISTORY, {"ids": existing})]
        for row in history_rows:
            histories[row[0]].add(Snapshot(*row))

    report = IngestReport(results=[])
    counts: dict[str, int] = defaultdict(int)
    written: dict[tuple[str, datetime], SnapshotFields] = {}
    for snapshot in snapshots:
        history = histories[snapshot.id]
        outcome, changed = _apply(history, snapshot)
        if changed:
            history.changed = True
            written[(snapshot.id, snapshot.updated_at)] = snapshot
        report.results.append(SnapshotResult(snapshot.id, outcome))
        counts[outcome] += 1

    if written:
        # New tickets were written whole by CLAIM; only stored tickets whose history grew change here.
        rewritten = [
            _row(history.snapshots, active)
            for ticket_id, history in histories.items()
            if history.changed and ticket_id not in created
        ]
        yield [
            (
                WRITE_BATCH,
                {
                    **params,
                    "history": _json([_snapshot_row(s) for s in written.values()]),
                    "rows": _json(rewritten),
                    "created_earliest": min((at for at in created.values() if at is not None), default=None),
                },
            )
        ]
    for name, count in counts.items():
        setattr(report, name, count)
    return report


def replan_steps(ticket_ids: Sequence[str], active: ActiveConfig) -> Steps:
    """Recompute the clocks of tickets from their full history under the config in force."""
    if not ticket_ids:
        return 0
    (history_rows,) = yield [(READ_HISTORY, {"ids": list(ticket_ids)})]
    histories: dict[str, dict[datetime, SnapshotFields]] = defaultdict(dict)
    for row in history_rows:
        histories[row[0]][row[1]] = Snapshot(*row)
    rows = []
    for ticket_id, snapshots_of_ticket in histories.items():
        current = snapshots_of_ticket[max(snapshots_of_ticket)]
        rows.append({"id": ticket_id, **planning.plan_clocks(current, snapshots_of_ticket.values(), active.config)})
    yield [(WRITE_CLOCKS, {"version": active.version, "rows": _json(rows)})]
    return len(rows)


def replan(session: Session, *, ticket_ids: Sequence[str], active: ActiveConfig) -> int:
    """Recompute the clocks of tickets from their full history in the session's transaction."""
    replanned: int = run_steps(_driver_connection(session), replan_steps(ticket_ids, active))
    return replanned
