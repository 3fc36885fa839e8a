"""Ingestion of snapshot batches: set-based, idempotent and independent of delivery order.

A batch runs in a handful of statements whatever its size: lock (creating) every ticket it
names, read their stored history, decide each snapshot's outcome in memory, write the new
history rows, then rewrite the current state and clock summary of every ticket that changed.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from psycopg import errors as pg_errors
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.sla import planning
from api.sla.planning import Snapshot
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
CLAIM = text(f"""
    INSERT INTO tickets (id, priority, customer_tier, status, created_at, updated_at, first_response_at,
                         received_at, config_version, {", ".join(CLOCK_COLUMNS)})
    SELECT r.id, r.priority, r.customer_tier, r.status, r.created_at, r.updated_at, r.first_response_at,
           :now, :version, {", ".join(f"r.{column}" for column in CLOCK_COLUMNS)}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    ORDER BY r.id
    ON CONFLICT (id) DO UPDATE SET id = excluded.id WHERE false
    RETURNING id, next_check_at
""")

READ_HISTORY = text("""
    SELECT ticket_id, updated_at, priority, customer_tier, created_at, status, first_response_at
    FROM ticket_snapshots WHERE ticket_id = ANY(:ids)
""")

WRITE_HISTORY_SQL = f"""
    INSERT INTO ticket_snapshots (ticket_id, updated_at, priority, customer_tier, created_at, status,
                                  first_response_at, received_at)
    SELECT r.id, r.updated_at, r.priority, r.customer_tier, r.created_at, r.status, r.first_response_at, :now
    FROM jsonb_to_recordset(CAST(:history AS jsonb)) AS r({SNAPSHOT_RECORD})
    ON CONFLICT (ticket_id, updated_at) DO UPDATE SET
        priority = excluded.priority, customer_tier = excluded.customer_tier, created_at = excluded.created_at,
        status = excluded.status, first_response_at = excluded.first_response_at, received_at = excluded.received_at
"""

WRITE_CURRENT_SQL = f"""
    UPDATE tickets AS t SET
        priority = r.priority, customer_tier = r.customer_tier, status = r.status, created_at = r.created_at,
        updated_at = r.updated_at, first_response_at = r.first_response_at, received_at = :now,
        config_version = :version,
        {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    WHERE t.id = r.id
    RETURNING t.next_check_at
"""

WRITE_CLOCKS_SQL = f"""
    UPDATE tickets AS t SET
        config_version = :version,
        {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id text, {CLOCK_RECORD})
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

WRITE_BATCH = text(f"""
    WITH history AS ({WRITE_HISTORY_SQL} RETURNING 1),
         updated AS ({WRITE_CURRENT_SQL}),
         written AS (SELECT next_check_at FROM updated UNION ALL SELECT CAST(:created_earliest AS timestamptz)),
         notified AS ({NOTIFY_EARLIEST})
    SELECT (SELECT count(*) FROM notified) AS notified
""")


WRITE_CLOCKS = text(f"WITH written AS ({WRITE_CLOCKS_SQL}) {NOTIFY_EARLIEST}")


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


def to_snapshot(snapshot: SnapshotIn) -> Snapshot:
    """The validated request model as a plain comparable snapshot."""
    return Snapshot(
        id=snapshot.id,
        updated_at=snapshot.updated_at,
        priority=snapshot.priority,
        customer_tier=snapshot.customer_tier,
        created_at=snapshot.created_at,
        status=snapshot.status,
        first_response_at=snapshot.first_response_at,
    )


def _json(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows).decode()


def _snapshot_row(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "id": snapshot.id,
        "updated_at": snapshot.updated_at,
        "priority": snapshot.priority,
        "customer_tier": snapshot.customer_tier,
        "created_at": snapshot.created_at,
        "status": snapshot.status,
        "first_response_at": snapshot.first_response_at,
    }


@dataclass
class _TicketHistory:
    """What is known of one ticket while a batch is applied to it in order."""

    snapshots: dict[datetime, Snapshot]
    changed: bool = False

    def newest(self) -> datetime | None:
        return max(self.snapshots) if self.snapshots else None


def _apply(history: _TicketHistory, snapshot: Snapshot) -> tuple[Outcome, bool]:
    """The outcome of one snapshot against what is known so far, and whether history changed."""
    newest = history.newest()
    stored = history.snapshots.get(snapshot.updated_at)
    if newest is None:
        history.snapshots[snapshot.updated_at] = snapshot
        return "created", True
    if stored is not None:
        if stored.content() == snapshot.content():
            return "unchanged", False
        if snapshot.rank() <= stored.rank():
            return "conflict", False
        history.snapshots[snapshot.updated_at] = snapshot
        return ("updated" if snapshot.updated_at == newest else "stale"), True
    history.snapshots[snapshot.updated_at] = snapshot
    return ("updated" if snapshot.updated_at > newest else "stale"), True


RETRYABLE_ERRORS = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


def ingest(session: Session, *, snapshots: Sequence[SnapshotIn], active: ActiveConfig, now: datetime) -> IngestReport:
    """Apply a validated batch in the caller's transaction; a serialization failure is retried."""
    for attempt in range(3):
        try:
            return _ingest_once(session, snapshots=snapshots, active=active, now=now)
        except DBAPIError as exc:
            if attempt == 2 or not isinstance(exc.orig, RETRYABLE_ERRORS):
                raise
            session.rollback()
    raise AssertionError("unreachable")


def _within_batch(batch: Sequence[Snapshot]) -> dict[str, dict[datetime, Snapshot]]:
    """Each ticket's history as the batch alone tells it: one winner per instant."""
    histories: dict[str, dict[datetime, Snapshot]] = defaultdict(dict)
    for snapshot in batch:
        known = histories[snapshot.id].get(snapshot.updated_at)
        if known is None or snapshot.rank() > known.rank():
            histories[snapshot.id][snapshot.updated_at] = snapshot
    return histories


def _row(snapshots: dict[datetime, Snapshot], active: ActiveConfig) -> dict[str, Any]:
    current = snapshots[max(snapshots)]
    return {**_snapshot_row(current), **planning.plan_clocks(current, snapshots.values(), active.config)}


def _ingest_once(
    session: Session, *, snapshots: Sequence[SnapshotIn], active: ActiveConfig, now: datetime
) -> IngestReport:
    batch = [to_snapshot(snapshot) for snapshot in snapshots]
    params = {"now": now, "version": active.version}
    claimed = [_row(history, active) for history in _within_batch(batch).values()]
    created = {row.id: row.next_check_at for row in session.execute(CLAIM, {**params, "rows": _json(claimed)})}
    histories: dict[str, _TicketHistory] = {row["id"]: _TicketHistory({}) for row in claimed}
    existing = [ticket_id for ticket_id in histories if ticket_id not in created]
    if existing:
        for row in session.execute(READ_HISTORY, {"ids": existing}):
            histories[row.ticket_id].snapshots[row.updated_at] = Snapshot(row.ticket_id, *row[1:])

    report = IngestReport(results=[])
    counts: dict[str, int] = defaultdict(int)
    written: dict[tuple[str, datetime], Snapshot] = {}
    for snapshot in batch:
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
        session.execute(
            WRITE_BATCH,
            {
                **params,
                "history": _json([_snapshot_row(s) for s in written.values()]),
                "rows": _json(rewritten),
                "created_earliest": min((at for at in created.values() if at is not None), default=None),
            },
        )
    for name, count in counts.items():
        setattr(report, name, count)
    return report


def replan(session: Session, *, ticket_ids: Sequence[str], active: ActiveConfig) -> int:
    """Recompute the clocks of tickets from their full history under the config in force."""
    if not ticket_ids:
        return 0
    histories: dict[str, dict[datetime, Snapshot]] = defaultdict(dict)
    for row in session.execute(READ_HISTORY, {"ids": list(ticket_ids)}):
        histories[row.ticket_id][row.updated_at] = Snapshot(row.ticket_id, *row[1:])
    rows = []
    for ticket_id, snapshots_of_ticket in histories.items():
        current = snapshots_of_ticket[max(snapshots_of_ticket)]
        rows.append({"id": ticket_id, **planning.plan_clocks(current, snapshots_of_ticket.values(), active.config)})
    session.execute(WRITE_CLOCKS, {"version": active.version, "rows": _json(rows)})
    return len(rows)
