"""Ingestion of snapshot batches: set-based, idempotent and independent of delivery order.

A batch runs in a handful of statements whatever its size: lock (creating) every ticket it
names, read their stored history, decide each snapshot's outcome in memory, write the new
history rows, then rewrite the current state and clock summary of every ticket that changed.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.sla import planning
from api.sla.planning import Snapshot
from api.sla_config.store import ActiveConfig
from api.tickets.schemas import IngestResult, Outcome, SnapshotIn, SnapshotOutcome

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

# One statement creates the tickets seen for the first time and locks the others, in id order so
# that concurrent batches naming the same tickets queue instead of deadlocking. `DO UPDATE ...
# WHERE false` changes nothing but still takes the row lock, which `DO NOTHING` would not.
LOCK_OR_CREATE = text(f"""
    INSERT INTO tickets (id, priority, customer_tier, status, created_at, updated_at, first_response_at,
                         received_at, config_version, response_phase, response_elapsed_us, response_target_us,
                         resolution_phase, resolution_elapsed_us, resolution_target_us)
    SELECT r.id, r.priority, r.customer_tier, r.status, r.created_at, r.updated_at, r.first_response_at,
           :now, :version, 'running', 0, 0, 'running', 0, 0
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({SNAPSHOT_RECORD})
    ORDER BY r.id
    ON CONFLICT (id) DO UPDATE SET id = excluded.id WHERE false
    RETURNING id
""")

READ_HISTORY = text("""
    SELECT ticket_id, updated_at, priority, customer_tier, created_at, status, first_response_at
    FROM ticket_snapshots WHERE ticket_id = ANY(:ids)
""")

WRITE_HISTORY = text(f"""
    INSERT INTO ticket_snapshots (ticket_id, updated_at, priority, customer_tier, created_at, status,
                                  first_response_at, received_at)
    SELECT r.id, r.updated_at, r.priority, r.customer_tier, r.created_at, r.status, r.first_response_at, :now
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({SNAPSHOT_RECORD})
    ON CONFLICT (ticket_id, updated_at) DO UPDATE SET
        priority = excluded.priority, customer_tier = excluded.customer_tier, created_at = excluded.created_at,
        status = excluded.status, first_response_at = excluded.first_response_at, received_at = excluded.received_at
""")

WRITE_CURRENT = text(f"""
    UPDATE tickets AS t SET
        priority = r.priority, customer_tier = r.customer_tier, status = r.status, created_at = r.created_at,
        updated_at = r.updated_at, first_response_at = r.first_response_at, received_at = :now,
        config_version = :version,
        {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    WHERE t.id = r.id
    RETURNING t.next_check_at
""")

WRITE_CLOCKS = text(f"""
    UPDATE tickets AS t SET
        config_version = :version,
        {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id text, {CLOCK_RECORD})
    WHERE t.id = r.id
    RETURNING t.next_check_at
""")


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


def ingest(session: Session, *, snapshots: Sequence[SnapshotIn], active: ActiveConfig, now: datetime) -> IngestResult:
    """Apply a validated batch in the caller's transaction and report every snapshot's outcome."""
    batch = [to_snapshot(snapshot) for snapshot in snapshots]
    newest_in_batch: dict[str, Snapshot] = {}
    for snapshot in batch:
        known = newest_in_batch.get(snapshot.id)
        if known is None or (snapshot.updated_at, snapshot.rank()) > (known.updated_at, known.rank()):
            newest_in_batch[snapshot.id] = snapshot
    params = {"now": now, "version": active.version}
    created = set(
        session.execute(
            LOCK_OR_CREATE, {**params, "rows": _json([_snapshot_row(s) for s in newest_in_batch.values()])}
        ).scalars()
    )
    histories: dict[str, _TicketHistory] = {ticket_id: _TicketHistory({}) for ticket_id in newest_in_batch}
    existing = [ticket_id for ticket_id in newest_in_batch if ticket_id not in created]
    if existing:
        for row in session.execute(READ_HISTORY, {"ids": existing}):
            histories[row.ticket_id].snapshots[row.updated_at] = Snapshot(row.ticket_id, *row[1:])

    outcomes: list[SnapshotOutcome] = []
    counts: dict[str, int] = defaultdict(int)
    written: dict[tuple[str, datetime], Snapshot] = {}
    for snapshot in batch:
        history = histories[snapshot.id]
        outcome, changed = _apply(history, snapshot)
        if changed:
            history.changed = True
            written[(snapshot.id, snapshot.updated_at)] = snapshot
        outcomes.append(SnapshotOutcome(id=snapshot.id, outcome=outcome))
        counts[outcome] += 1

    if written:
        session.execute(WRITE_HISTORY, {"now": now, "rows": _json([_snapshot_row(s) for s in written.values()])})
        changed_ids = [ticket_id for ticket_id, history in histories.items() if history.changed]
        current_rows = []
        for ticket_id in changed_ids:
            snapshots_of_ticket = histories[ticket_id].snapshots
            current = snapshots_of_ticket[max(snapshots_of_ticket)]
            clocks = planning.plan_clocks(current, snapshots_of_ticket.values(), active.config)
            current_rows.append({**_snapshot_row(current), **clocks})
        next_checks = session.execute(WRITE_CURRENT, {**params, "rows": _json(current_rows)}).scalars().all()
        notify_wakeup(session, next_checks)
    return IngestResult(results=outcomes, **counts)


def notify_wakeup(session: Session, next_checks: Iterable[datetime | None]) -> None:
    """Tell the evaluator, in whichever process it runs, when it must next wake up (on commit)."""
    earliest = min((instant for instant in next_checks if instant is not None), default=None)
    if earliest is not None:
        session.execute(
            text("SELECT pg_notify(:channel, :at)"), {"channel": WAKEUP_CHANNEL, "at": earliest.isoformat()}
        )


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
    next_checks = session.execute(WRITE_CLOCKS, {"version": active.version, "rows": _json(rows)}).scalars().all()
    notify_wakeup(session, next_checks)
    return len(rows)
