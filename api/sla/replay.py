"""Replay tickets' histories: read every stored snapshot, plan the clocks under a config, write them.

Ingestion reads histories with the same statement, and announces written deadlines the same way.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy.orm import Session

from api.kit.channels import WAKEUP_CHANNEL
from api.kit.steps import Steps, run_steps
from api.models.tickets import CLOCK_COLUMNS, CLOCK_RECORD
from api.sla import checks, planning
from api.sla.planning import Snapshot, SnapshotFields
from api.sla_config.store import ActiveConfig

READ_HISTORY = """
    SELECT ticket_id, updated_at, priority, customer_tier, created_at, status, first_response_at
    FROM ticket_snapshots WHERE ticket_id = ANY(%(ids)s)
"""

# Written tickets announce their earliest deadline on commit, so the evaluator (in whichever
# process leads) wakes up for it; one statement does the writes and the announcement. The
# statement it closes names its written deadlines `written`.
NOTIFY_EARLIEST = f"""
    SELECT pg_notify('{WAKEUP_CHANNEL}', to_char(min(next_check_at) AT TIME ZONE 'UTC',
                                                'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
    FROM written
    HAVING min(next_check_at) IS NOT NULL
"""

# `ids` names the rows again as an array: whatever join the planner picks, it reads only those tickets.
WRITE_CLOCKS = f"""
    WITH written AS (
        UPDATE tickets AS t SET
            config_version = %(version)s,
            {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)},
            {checks.derived_assignments(checks.prefixed("r"), "t.events_recorded", "%(now)s")}
        FROM json_to_recordset(CAST(%(rows)s AS json)) AS r(id text, {CLOCK_RECORD})
        WHERE t.id = r.id AND t.id = ANY(%(ids)s)
        RETURNING t.next_check_at
    )
    {NOTIFY_EARLIEST}
"""


def as_json(rows: list[dict[str, Any]]) -> str:
    """Rows as the JSON text that json_to_recordset reads."""
    return orjson.dumps(rows).decode()


def histories_of(rows: list[tuple[Any, ...]]) -> dict[str, dict[datetime, SnapshotFields]]:
    """READ_HISTORY's rows as each ticket's snapshots by instant."""
    histories: dict[str, dict[datetime, SnapshotFields]] = defaultdict(dict)
    for row in rows:
        histories[row[0]][row[1]] = Snapshot(*row)
    return histories


def replay_steps(ticket_ids: Sequence[str], active: ActiveConfig, now: datetime) -> Steps:
    """Plan the clocks of tickets from their whole history under the config in force; returns how many."""
    if not ticket_ids:
        return 0
    (history_rows,) = yield [(READ_HISTORY, {"ids": list(ticket_ids)})]
    rows = []
    for ticket_id, snapshots in histories_of(history_rows).items():
        current = snapshots[max(snapshots)]
        rows.append({"id": ticket_id, **planning.plan_clocks(current, snapshots.values(), active.config)})
    ids = [row["id"] for row in rows]
    yield [(WRITE_CLOCKS, {"version": active.version, "rows": as_json(rows), "ids": ids, "now": now})]
    return len(rows)


def replay(session: Session, *, ticket_ids: Sequence[str], active: ActiveConfig, now: datetime) -> int:
    """Replay the histories of tickets in the session's transaction; returns how many were replayed."""
    connection = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
    replayed: int = run_steps(connection, replay_steps(ticket_ids, active, now))
    return replayed
