"""The statements that read or write the tickets of a batch touch only those rows, whatever the planner estimates.

Planned on statistics taken while the tables were small, or from a generic plan cached then, a
join of a batch's thousand tickets against a table may become a scan of the whole table, and its
cost then grows with the table. Here every statement of ingestion and of a replay is planned by a
planner that prefers whole-table reads (no nested loops, no sequential scans): each read of
`tickets` and `ticket_snapshots` must still be bounded by the batch's keys.
"""

from datetime import timedelta
from typing import Any, cast

import psycopg
from sqlalchemy.orm import Session, sessionmaker

from api.kit.steps import Statement, Steps
from api.sla.replay import replay_steps
from api.sla_config.store import ActiveConfig
from api.tickets.ingestion import ingest_steps
from tests.builders import apply_batch, snapshot
from tests.conftest import T0

TABLES = {"tickets", "ticket_snapshots"}


def _reads(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every scan of one of TABLES in an EXPLAIN (FORMAT JSON) plan."""
    nodes = [plan] if plan.get("Relation Name") in TABLES and plan["Node Type"].endswith("Scan") else []
    for child in plan.get("Plans", []):
        nodes += _reads(child)
    return nodes


def _unbounded_reads(steps: Steps, connection: psycopg.Connection[Any]) -> tuple[list[str], list[str]]:
    """Run the steps; return the statements seen and every read of a whole table their plans make."""
    seen: list[str] = []
    unbounded: list[str] = []

    def run(statement: Statement) -> list[tuple[Any, ...]]:
        sql, params = statement
        seen.append(" ".join(sql.split())[:40])
        ((plan,),) = connection.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchall()
        for node in _reads(plan[0]["Plan"]):
            if not (node.get("Index Cond") or node.get("Recheck Cond")):
                unbounded.append(f"{node['Node Type']} on {node['Relation Name']} in {seen[-1]}")
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []

    try:
        statements = next(steps)
        while True:
            statements = steps.send([run(statement) for statement in statements])
    except StopIteration:
        return seen, unbounded


def _preferring_scans(connection: psycopg.Connection[Any]) -> None:
    connection.execute("SET LOCAL enable_nestloop = off")
    connection.execute("SET LOCAL enable_seqscan = off")


def test_ingestion_reads_and_writes_only_the_tickets_of_its_batch(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    minute = timedelta(minutes=1)
    stored = [snapshot(f"T-{n}", created_at=T0, updated_at=T0 + 9 * minute, status="in_progress") for n in range(3)]
    apply_batch(sessions, active, stored, now=T0)
    batch = [
        snapshot("T-0", created_at=T0, updated_at=T0 + 5 * minute),  # older than stored: its history is read
        snapshot("T-1", created_at=T0, updated_at=T0 + 12 * minute, status="pending"),  # two newer ones
        snapshot("T-1", created_at=T0, updated_at=T0 + 15 * minute, status="resolved"),
        snapshot("T-9", created_at=T0, updated_at=T0 + minute),  # new
    ]
    with sessions() as session:
        connection = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
        _preferring_scans(connection)
        seen, unbounded = _unbounded_reads(ingest_steps(batch, active, T0 + 20 * minute), connection)
        session.rollback()
    # CLAIM and READ_LOCKED, then the write of the tickets CLAIM only locked.
    assert [statement.split()[:2] for statement in seen] == [["WITH", "targets"], ["WITH", "kept"], ["WITH", "history"]]
    assert unbounded == []


def test_a_replay_reads_and_writes_only_the_tickets_it_replays(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    apply_batch(sessions, active, [snapshot(f"T-{n}", created_at=T0, updated_at=T0) for n in range(3)], now=T0)
    with sessions() as session:
        connection = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
        _preferring_scans(connection)
        seen, unbounded = _unbounded_reads(replay_steps(["T-0", "T-2"], active, T0), connection)
        session.rollback()
    assert len(seen) == 2
    assert unbounded == []
