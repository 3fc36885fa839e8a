"""Ticket counts per priority x tier, kept by triggers, so the summary reads a few rows, not every ticket.

Each statement that writes tickets appends one row of count deltas per segment it touched (append
only, so concurrent writers never wait on a shared counter row); the evaluator folds them together
from time to time. A TRUNCATE of tickets clears the counts with it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What one ticket row adds to each count. States follow the events recorded, as the SLA states are
# defined: breached once a breach is recorded, at risk once an alert is (on a clock still running).
OPEN = "status NOT IN ('resolved', 'closed')"
CONTRIBUTIONS = {
    "total": "1",
    "open": f"({OPEN})::int",
    "breached": f"({OPEN} AND events_recorded & 10 <> 0)::int",
    "at_risk": (
        f"({OPEN} AND events_recorded & 10 = 0 AND ("
        "(events_recorded & 1 <> 0 AND response_phase <> 'stopped') OR "
        "(events_recorded & 4 <> 0 AND resolution_phase <> 'stopped')))::int"
    ),
    "response_met": "(response_phase = 'stopped' AND response_due_at IS NULL)::int",
    "response_breached": "(events_recorded & 2 <> 0)::int",
    "resolution_met": "(resolution_phase = 'stopped' AND resolution_due_at IS NULL)::int",
    "resolution_breached": "(events_recorded & 8 <> 0)::int",
}
COUNTS = list(CONTRIBUTIONS)


def _contributions(table: str, sign: str) -> str:
    columns = ", ".join(f"{sign}{expression} AS {name}" for name, expression in CONTRIBUTIONS.items())
    return f"SELECT priority, customer_tier, {columns} FROM {table}"


def _append_deltas(sources: str) -> str:
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COUNTS)
    return f"""
        INSERT INTO ticket_counts (priority, customer_tier, {", ".join(COUNTS)})
        SELECT priority, customer_tier, {sums}
        FROM ({sources}) AS delta
        GROUP BY priority, customer_tier
        HAVING {nonzero};
    """


# Statement triggers fire for statements that changed no row, as ingestion's locking
# INSERT ... ON CONFLICT DO UPDATE does for tickets already stored: leave at once then.
TRIGGER_FUNCTIONS = {
    "insert": "IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;\n"
    + _append_deltas(_contributions("new_rows", "")),
    "update": "IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;\n"
    + _append_deltas(f"{_contributions('new_rows', '')} UNION ALL {_contributions('old_rows', '-')}"),
    "delete": _append_deltas(_contributions("old_rows", "-")),
}
TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    """Create the counts table, its triggers, and count the tickets already stored."""
    op.create_table(
        "ticket_counts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("customer_tier", sa.Text(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_counts")),
    )
    for event, body in TRIGGER_FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION tickets_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\nRETURN NULL;\nEND;\n$$"
        )
        op.execute(
            f"CREATE TRIGGER tickets_count_{event} AFTER {event.upper()} ON tickets "
            f"{TRANSITIONS[event]} FOR EACH STATEMENT EXECUTE FUNCTION tickets_count_{event}()"
        )
    op.execute(
        "CREATE FUNCTION tickets_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\nDELETE FROM ticket_counts;\nRETURN NULL;\nEND;\n$$"
    )
    op.execute(
        "CREATE TRIGGER tickets_count_truncate AFTER TRUNCATE ON tickets "
        "FOR EACH STATEMENT EXECUTE FUNCTION tickets_count_truncate()"
    )
    op.execute(_append_deltas(_contributions("tickets", "")))


def downgrade() -> None:
    """Drop the triggers, their functions and the counts."""
    for event in (*TRIGGER_FUNCTIONS, "truncate"):
        op.execute(f"DROP TRIGGER tickets_count_{event} ON tickets")
        op.execute(f"DROP FUNCTION tickets_count_{event}()")
    op.drop_table("ticket_counts")
