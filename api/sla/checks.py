"""The columns a ticket row derives from its deadlines at an instant: its SLA state, which clocks are
breached, and when it must be looked at next.

Every writer of deadlines (ingestion, replays, the config walk, the evaluation pass) sets them
with the same SQL, built here, so the stored state is always the state at the moment of writing.
A state changes only when a deadline passes, and `next_check_at` is the earliest deadline still
ahead (or one already passed whose event is not yet recorded): the evaluator wakes then, records
what fell due and moves the state on. So for every ticket whose `next_check_at` lies ahead, the
stored state is its state now, and the summary's counts kept from it are exact.
"""

from collections.abc import Callable

from api.models.tickets import EVENT_BITS, deadline_column

ColumnSource = Callable[[str], str]


def _deadline(source: ColumnSource, clock: str, kind: str) -> str:
    return source(deadline_column(clock, kind))


def breach_sql(source: ColumnSource) -> str:
    """The earliest breach instant of the row's clocks, running or finished."""
    return f"LEAST({_deadline(source, 'response', 'breach')}, {_deadline(source, 'resolution', 'breach')})"


def risk_sql(source: ColumnSource) -> str:
    """The earliest alert instant of the row's clocks that still run or are paused."""
    parts = ", ".join(
        f"CASE WHEN {source(f'{clock}_phase')} <> 'stopped' THEN {_deadline(source, clock, 'alert')} END"
        for clock in ("response", "resolution")
    )
    return f"LEAST({parts})"


def state_sql(source: ColumnSource, now: str) -> str:
    """`breached`, `at_risk` or `ok` at instant `now`, as SPEC defines the SLA state."""
    return (
        f"CASE WHEN {breach_sql(source)} <= {now} THEN 'breached' "
        f"WHEN {risk_sql(source)} <= {now} THEN 'at_risk' ELSE 'ok' END"
    )


def breached_clocks_sql(source: ColumnSource, now: str) -> str:
    """A bitmask of the clocks whose due instant has passed at `now`: 1 response, 2 resolution."""
    response = _deadline(source, "response", "breach")
    resolution = _deadline(source, "resolution", "breach")
    return (
        f"(CASE WHEN {response} <= {now} THEN 1 ELSE 0 END | CASE WHEN {resolution} <= {now} THEN 2 ELSE 0 END)"
        "::smallint"
    )


def next_check_sql(source: ColumnSource, recorded: str, now: str) -> str:
    """The earliest deadline after `now`, or passed but with its event not yet recorded in `recorded`."""
    parts = ", ".join(
        f"CASE WHEN {deadline} > {now} OR ({recorded}) & {bit} = 0 THEN {deadline} END"
        for (clock, kind), bit in EVENT_BITS.items()
        for deadline in (_deadline(source, clock, kind),)
    )
    return f"LEAST({parts})"


def derived_assignments(source: ColumnSource, recorded: str, now: str) -> str:
    """`SET` assignments of the derived columns, for an UPDATE."""
    return (
        f"sla_state = {state_sql(source, now)}, "
        f"breached_clocks = {breached_clocks_sql(source, now)}, "
        f"next_check_at = {next_check_sql(source, recorded, now)}"
    )


def prefixed(prefix: str) -> ColumnSource:
    """Columns of a table or record alias, such as `r.` or `t.`."""
    return lambda column: f"{prefix}.{column}"
