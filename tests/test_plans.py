"""The statements that read or write the tickets of a batch touch only those rows, whatever the planner estimates.

Planned on statistics taken while the tables were small, or from a generic plan cached then, a
join of a batch's thousand tickets against a table may become a read of the whole table, and its
cost then grows with the table. Here the statements of ingestion and of a replay are planned as a
planner would plan them that believes whole-table reads are cheaper (no nested loops): each read
of `tickets` and `ticket_snapshots` must still look rows up by their key.
"""

import re
from datetime import timedelta
from typing import Any, cast

import psycopg
from sqlalchemy.orm import Session, sessionmaker

from api.kit.steps import Statement, Steps, rows_of
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
    """Run the steps; return the statements seen and every read not keyed by the rows' id that their plans make."""
    seen: list[str] = []
    unbounded: list[str] = []

    def run(statement: Statement) -> list[tuple[Any, ...]]:
        sql, params = statement
        seen.append(" ".join(sql.split())[:40])
        if not sql.lstrip().startswith("SET"):
            ((plan,),) = connection.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchall()
            for node in _reads(plan[0]["Plan"]):
                condition = node.get("Index Cond") or node.get("Recheck Cond") or ""
                if not re.search(r"\((ticket_)?id = ", condition):
                    unbounded.append(f"{node['Node Type']} on {node['Relation Name']} ({condition}) in {seen[-1]}")
        return rows_of(connection.execute(sql, params))

    try:
        statements = next(steps)
        while True:
            statements = steps.send([run(statement) for statement in statements])
    except StopIteration:
        return seen, unbounded


def _preferring_whole_reads(connection: psycopg.Connection[Any], *, sequential_scans: bool) -> None:
    """Plan as a planner would that believes reading a whole table is cheaper than a probe per row."""
    connection.execute("SET LOCAL enable_nestloop = off")
    connection.execute("SET LOCAL random_page_cost = 1000")
    if not sequential_scans:
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
        # Sequential scans stay allowed: ingestion turns them off itself, for its own transaction.
        _preferring_whole_reads(connection, sequential_scans=True)
        seen, unbounded = _unbounded_reads(ingest_steps(batch, active, T0 + 20 * minute), connection)
        session.rollback()
    # That setting, CLAIM and READ_LOCKED, then the write of the tickets CLAIM only locked.
    assert [statement.split()[:2] for statement in seen] == [
        ["SET", "LOCAL"],
        ["WITH", "targets"],
        ["WITH", "kept"],
        ["WITH", "history"],
    ]
    assert unbounded == []


def test_a_replay_reads_and_writes_only_the_tickets_it_replays(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    apply_batch(sessions, active, [snapshot(f"T-{n}", created_at=T0, updated_at=T0) for n in range(3)], now=T0)
    with sessions() as session:
        connection = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
        _preferring_whole_reads(connection, sequential_scans=False)
        seen, unbounded = _unbounded_reads(replay_steps(["T-0", "T-2"], active, T0), connection)
        session.rollback()
    # The histories, then the clocks planned from them.
    assert [statement.split()[:2] for statement in seen] == [["SELECT", "ticket_id,"], ["WITH", "written"]]
    assert unbounded == []
