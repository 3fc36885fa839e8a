"""When each clock stopped; compliance kept by the day it was decided; events kept by the hour they fell due.

`ticket_counts` gets a `day`: the open, at-risk and breached counts stay on rows without a day,
while each clock's met or breached count goes to the UTC day it was decided (the day it stopped in
time, or the day its due instant fell). `event_counts` holds events by the UTC hour they fell due,
appended by the evaluation pass. Both are folded by the evaluator like before, so the summary reads
a window of days or hours without reading every ticket or event.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status NOT IN ('resolved', 'closed')"
COUNTS = ["total", "open", "breached", "at_risk", "response_met", "response_breached", "resolution_met"]
COUNTS.append("resolution_breached")


def _day(instant: str) -> str:
    return f"({instant} AT TIME ZONE 'UTC')::date"


def _clock(bit: int, clock: str) -> tuple[str, str, str]:
    """The day a clock was decided, and whether it was met or breached."""
    breached = f"breached_clocks & {bit} <> 0"
    met = f"({clock}_phase = 'stopped' AND breached_clocks & {bit} = 0)"
    day = f"CASE WHEN {breached} THEN {_day(f'{clock}_due_at')} WHEN {met} THEN {_day(f'{clock}_stopped_at')} END"
    return day, f"({met})::int", f"({breached})::int"


def _contributions(table: str, sign: str) -> str:
    response_day, response_met, response_breached = _clock(1, "response")
    resolution_day, resolution_met, resolution_breached = _clock(2, "resolution")
    zero = "0, 0"
    rows = [
        f"(NULL::date, 1, ({OPEN})::int, ({OPEN} AND sla_state = 'breached')::int, "
        f"({OPEN} AND sla_state = 'at_risk')::int, {zero}, {zero})",
        f"({response_day}, 0, 0, 0, 0, {response_met}, {response_breached}, {zero})",
        f"({resolution_day}, 0, 0, 0, 0, {zero}, {resolution_met}, {resolution_breached})",
    ]
    columns = ", ".join(f"{sign}c.{name} AS {name}" for name in COUNTS)
    return (
        f"SELECT priority, customer_tier, c.day, {columns} FROM {table} "
        f"CROSS JOIN LATERAL (VALUES {', '.join(rows)}) AS c (day, {', '.join(COUNTS)})"
    )


def _append(sources: str) -> str:
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COUNTS)
    return (
        f"INSERT INTO ticket_counts (priority, customer_tier, day, {', '.join(COUNTS)}) "
        f"SELECT priority, customer_tier, day, {sums} FROM ({sources}) AS delta "
        f"GROUP BY priority, customer_tier, day HAVING {nonzero};"
    )


TRIGGER_BODIES = {
    "insert": _append(_contributions("new_rows", "")),
    "update": _append(f"{_contributions('new_rows', '')} UNION ALL {_contributions('old_rows', '-')}"),
    "delete": _append(_contributions("old_rows", "-")),
}


def upgrade() -> None:
    """Add the stop instants, the day of each count, and the event counts by hour."""
    op.add_column("tickets", sa.Column("response_stopped_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("resolution_stopped_at", sa.DateTime(timezone=True), nullable=True))
    # Every config so far counted around the clock: a stopped response clock stopped its elapsed time
    # after creation. A resolved ticket's own stop is not kept; its last update is the nearest known.
    op.execute(
        "UPDATE tickets SET "
        "response_stopped_at = CASE WHEN response_phase = 'stopped' "
        "THEN created_at + response_elapsed_us * interval '1 microsecond' END, "
        "resolution_stopped_at = CASE WHEN resolution_phase = 'stopped' THEN updated_at END"
    )
    op.add_column("ticket_counts", sa.Column("day", sa.Date(), nullable=True))
    for event, body in TRIGGER_BODIES.items():
        guard = "" if event == "delete" else "IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;\n"
        op.execute(
            f"CREATE OR REPLACE FUNCTION tickets_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{guard}{body}\nRETURN NULL;\nEND;\n$$"
        )
    op.execute("DELETE FROM ticket_counts")
    op.execute(_append(_contributions("tickets", "")))
    op.create_table(
        "event_counts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("customer_tier", sa.Text(), nullable=False),
        sa.Column("clock", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_counts")),
    )
    op.create_index("ix_event_counts_hour", "event_counts", ["hour"])
    op.execute(
        "INSERT INTO event_counts (hour, priority, customer_tier, clock, kind, events) "
        "SELECT date_bin('1 hour', due_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), priority, customer_tier, "
        "clock, kind, count(*) FROM sla_events GROUP BY 1, 2, 3, 4, 5"
    )


# The counts of revision 0007, for the downgrade: one row per ticket, no day.
PREVIOUS = {
    "total": "1",
    "open": f"({OPEN})::int",
    "breached": f"({OPEN} AND sla_state = 'breached')::int",
    "at_risk": f"({OPEN} AND sla_state = 'at_risk')::int",
    "response_met": "(response_phase = 'stopped' AND breached_clocks & 1 = 0)::int",
    "response_breached": "(breached_clocks & 1 <> 0)::int",
    "resolution_met": "(resolution_phase = 'stopped' AND breached_clocks & 2 = 0)::int",
    "resolution_breached": "(breached_clocks & 2 <> 0)::int",
}


def _previous_append(table: str, sign: str) -> str:
    columns = ", ".join(f"{sign}{PREVIOUS[name]} AS {name}" for name in COUNTS)
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in COUNTS)
    return (
        f"INSERT INTO ticket_counts (priority, customer_tier, {', '.join(COUNTS)}) "
        f"SELECT priority, customer_tier, {sums} FROM (SELECT priority, customer_tier, {columns} FROM {table}) AS d "
        f"GROUP BY priority, customer_tier HAVING {nonzero};"
    )


def downgrade() -> None:
    """Back to counts without days and no event counts."""
    op.drop_index("ix_event_counts_hour", table_name="event_counts")
    op.drop_table("event_counts")
    bodies = {
        "insert": _previous_append("new_rows", ""),
        "update": _previous_append("new_rows", "") + _previous_append("old_rows", "-"),
        "delete": _previous_append("old_rows", "-"),
    }
    for event, body in bodies.items():
        guard = "" if event == "delete" else "IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;\n"
        op.execute(
            f"CREATE OR REPLACE FUNCTION tickets_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{guard}{body}\nRETURN NULL;\nEND;\n$$"
        )
    op.drop_column("ticket_counts", "day")
    op.execute("DELETE FROM ticket_counts")
    op.execute(_previous_append("tickets", ""))
    op.drop_column("tickets", "resolution_stopped_at")
    op.drop_column("tickets", "response_stopped_at")
