"""Count triggers group the changed rows by what they count toward before they expand them.

What a ticket adds to `ticket_counts` depends only on a few facts: its segment, whether it is
open, breached or at risk, and the day and outcome of each decided clock. The counts are linear in
the multiset of those facts, so a statement's delta is the new rows' facts minus the old rows'
facts: grouped first, a row whose facts did not change (a config walk moving a deadline, a status
from open to pending) cancels its old self in the grouping and is never expanded into counts.
The previous bodies expanded every row into three count rows before summing them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 20:00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status NOT IN ('resolved', 'closed')"
COUNTS = [
    "total",
    "open",
    "breached",
    "at_risk",
    "response_met",
    "response_breached",
    "resolution_met",
    "resolution_breached",
]
FACTS = [
    "priority",
    "customer_tier",
    "is_open",
    "is_breached",
    "is_at_risk",
    "response_day",
    "response_was_met",
    "response_was_breached",
    "resolution_day",
    "resolution_was_met",
    "resolution_was_breached",
]


def _day(instant: str) -> str:
    return f"({instant} AT TIME ZONE 'UTC')::date"


def _clock_facts(bit: int, clock: str) -> list[str]:
    """The day a clock was decided, and whether it was met or breached."""
    breached = f"breached_clocks & {bit} <> 0"
    met = f"({clock}_phase = 'stopped' AND breached_clocks & {bit} = 0)"
    day = f"CASE WHEN {breached} THEN {_day(f'{clock}_due_at')} WHEN {met} THEN {_day(f'{clock}_stopped_at')} END"
    return [day, f"({met})::int", f"({breached})::int"]


def _facts(table: str, weight: str) -> str:
    """Each row's facts, weighted +1 for a row that came or -1 for one that went."""
    values = ["priority", "customer_tier", f"({OPEN})::int"]
    values += [f"({OPEN} AND sla_state = 'breached')::int", f"({OPEN} AND sla_state = 'at_risk')::int"]
    values += [*_clock_facts(1, "response"), *_clock_facts(2, "resolution")]
    columns = ", ".join(f"{value} AS {name}" for value, name in zip(values, FACTS, strict=True))
    return f"SELECT {weight} AS weight, {columns} FROM {table}"


def _append(sources: str) -> str:
    """Group the weighted facts, drop those that cancel, expand each group into its three count rows."""
    facts = ", ".join(FACTS)
    zero = "0, 0"
    rows = [
        f"(NULL::date, net, net * is_open, net * is_breached, net * is_at_risk, {zero}, {zero})",
        f"(response_day, 0, 0, 0, 0, net * response_was_met, net * response_was_breached, {zero})",
        f"(resolution_day, 0, 0, 0, 0, {zero}, net * resolution_was_met, net * resolution_was_breached)",
    ]
    sums = ", ".join(f"sum(c.{name})" for name in COUNTS)
    nonzero = " OR ".join(f"sum(c.{name}) <> 0" for name in COUNTS)
    return (
        f"INSERT INTO ticket_counts (priority, customer_tier, day, {', '.join(COUNTS)}) "
        f"SELECT g.priority, g.customer_tier, c.day, {sums} FROM ("
        f"SELECT {facts}, sum(weight) AS net FROM ({sources}) AS weighted GROUP BY {facts} HAVING sum(weight) <> 0"
        f") AS g CROSS JOIN LATERAL (VALUES {', '.join(rows)}) AS c (day, {', '.join(COUNTS)}) "
        f"GROUP BY g.priority, g.customer_tier, c.day HAVING {nonzero};"
    )


TRIGGER_BODIES = {
    "insert": _append(_facts("new_rows", "1")),
    "update": _append(f"{_facts('new_rows', '1')} UNION ALL {_facts('old_rows', '-1')}"),
    "delete": _append(_facts("old_rows", "-1")),
}


def _replace_bodies(bodies: dict[str, str]) -> None:
    for event, body in bodies.items():
        guard = "" if event == "delete" else "IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;\n"
        op.execute(
            f"CREATE OR REPLACE FUNCTION tickets_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{guard}{body}\nRETURN NULL;\nEND;\n$$"
        )


def _previous_bodies() -> dict[str, str]:
    """The trigger bodies this revision replaces: revision 0008's (its file name is not a module name)."""
    path = Path(__file__).with_name("2026-12-01_outcomes_by_day.py")
    spec = importlib.util.spec_from_file_location("outcomes_by_day", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bodies: dict[str, str] = module.TRIGGER_BODIES
    return bodies


def upgrade() -> None:
    """Count triggers that group facts first; the counts they keep are the same."""
    _replace_bodies(TRIGGER_BODIES)


def downgrade() -> None:
    """Back to the bodies of revision 0008."""
    _replace_bodies(_previous_bodies())
