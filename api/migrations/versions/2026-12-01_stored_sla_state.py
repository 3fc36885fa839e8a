"""The SLA state as the clocks define it, stored at each write and moved on by the evaluator.

`next_check_at` stops being generated from the unrecorded deadlines: writers set it to the earliest
deadline still ahead (or passed with its event unrecorded), with `sla_state` and `breached_clocks`
as of the write, and the evaluator moves all three on when a deadline passes. The summary's counts
follow the stored state instead of the recorded events, so they agree with the list filters.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status NOT IN ('resolved', 'closed')"
DEADLINES = {
    1: "response_alert_at",
    2: "response_due_at",
    4: "resolution_alert_at",
    8: "resolution_due_at",
}
BREACH = "LEAST(response_due_at, resolution_due_at)"
RISK = (
    "LEAST(CASE WHEN response_phase <> 'stopped' THEN response_alert_at END, "
    "CASE WHEN resolution_phase <> 'stopped' THEN resolution_alert_at END)"
)
STATE = f"CASE WHEN {BREACH} <= now() THEN 'breached' WHEN {RISK} <= now() THEN 'at_risk' ELSE 'ok' END"
BREACHED_CLOCKS = (
    "(CASE WHEN response_due_at <= now() THEN 1 ELSE 0 END | CASE WHEN resolution_due_at <= now() THEN 2 ELSE 0 END)"
    "::smallint"
)
NEXT_CHECK = (
    "LEAST("
    + ", ".join(
        f"CASE WHEN {column} > now() OR events_recorded & {bit} = 0 THEN {column} END"
        for bit, column in DEADLINES.items()
    )
    + ")"
)
OLD_NEXT_CHECK = (
    "LEAST("
    + ", ".join(f"CASE WHEN events_recorded & {bit} = 0 THEN {column} END" for bit, column in DEADLINES.items())
    + ")"
)


def _contributions(counts: dict[str, str]) -> dict[str, str]:
    return {"total": "1", "open": f"({OPEN})::int", **counts}


NEW_COUNTS = _contributions(
    {
        "breached": f"({OPEN} AND sla_state = 'breached')::int",
        "at_risk": f"({OPEN} AND sla_state = 'at_risk')::int",
        "response_met": "(response_phase = 'stopped' AND breached_clocks & 1 = 0)::int",
        "response_breached": "(breached_clocks & 1 <> 0)::int",
        "resolution_met": "(resolution_phase = 'stopped' AND breached_clocks & 2 = 0)::int",
        "resolution_breached": "(breached_clocks & 2 <> 0)::int",
    }
)
OLD_COUNTS = _contributions(
    {
        "response_met": "(response_phase = 'stopped' AND response_due_at IS NULL)::int",
        "resolution_met": "(resolution_phase = 'stopped' AND resolution_due_at IS NULL)::int",
        "breached": f"({OPEN} AND events_recorded & 10 <> 0)::int",
        "at_risk": (
            f"({OPEN} AND events_recorded & 10 = 0 AND ("
            "(events_recorded & 1 <> 0 AND response_phase <> 'stopped') OR "
            "(events_recorded & 4 <> 0 AND resolution_phase <> 'stopped')))::int"
        ),
        "response_breached": "(events_recorded & 2 <> 0)::int",
        "resolution_breached": "(events_recorded & 8 <> 0)::int",
    }
)
COUNTS = ["total", "open", "breached", "at_risk", "response_met", "response_breached", "resolution_met"]
COUNTS.append("resolution_breached")


def _select(table: str, sign: str, contributions: dict[str, str]) -> str:
    columns = ", ".join(f"{sign}{contributions[name]} AS {name}" for name in COUNTS)
    return f"SELECT priority, customer_tier, {columns} FROM {table}"


def _append(sources: str) -> str:
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COUNTS)
    return (
        f"INSERT INTO ticket_counts (priority, customer_tier, {', '.join(COUNTS)}) "
        f"SELECT priority, customer_tier, {sums} FROM ({sources}) AS delta "
        f"GROUP BY priority, customer_tier HAVING {nonzero};"
    )


def _replace_count_triggers(contributions: dict[str, str]) -> None:
    bodies = {
        "insert": _append(_select("new_rows", "", contributions)),
        "update": _append(
            f"{_select('new_rows', '', contributions)} UNION ALL {_select('old_rows', '-', contributions)}"
        ),
        "delete": _append(_select("old_rows", "-", contributions)),
    }
    for event, body in bodies.items():
        guard = "" if event == "delete" else "IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;\n"
        op.execute(
            f"CREATE OR REPLACE FUNCTION tickets_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{guard}{body}\nRETURN NULL;\nEND;\n$$"
        )
    op.execute("DELETE FROM ticket_counts")
    op.execute(_append(_select("tickets", "", contributions)))


def upgrade() -> None:
    """Store the state, the breached clocks and the next check; count from them."""
    op.drop_index("ix_tickets_next_check_at", table_name="tickets")
    op.drop_column("tickets", "next_check_at")
    op.add_column("tickets", sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("sla_state", sa.Text(), server_default=sa.text("'ok'"), nullable=False))
    op.add_column(
        "tickets", sa.Column("breached_clocks", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
    )
    op.create_check_constraint("sla_state", "tickets", "sla_state IN ('ok', 'at_risk', 'breached')")
    op.execute(
        f"UPDATE tickets SET sla_state = {STATE}, breached_clocks = {BREACHED_CLOCKS}, next_check_at = {NEXT_CHECK}"
    )
    op.create_index(
        "ix_tickets_next_check_at", "tickets", ["next_check_at"], postgresql_where=sa.text("next_check_at IS NOT NULL")
    )
    _replace_count_triggers(NEW_COUNTS)


def downgrade() -> None:
    """Generate the next check from the unrecorded deadlines again, and count from the events."""
    op.drop_index("ix_tickets_next_check_at", table_name="tickets")
    op.drop_constraint(op.f("ck_tickets_sla_state"), "tickets", type_="check")
    op.drop_column("tickets", "breached_clocks")
    op.drop_column("tickets", "sla_state")
    op.drop_column("tickets", "next_check_at")
    op.add_column(
        "tickets",
        sa.Column("next_check_at", sa.DateTime(timezone=True), sa.Computed(OLD_NEXT_CHECK, persisted=True)),
    )
    op.create_index(
        "ix_tickets_next_check_at", "tickets", ["next_check_at"], postgresql_where=sa.text("next_check_at IS NOT NULL")
    )
    _replace_count_triggers(OLD_COUNTS)
