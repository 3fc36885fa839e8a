"""The dashboard summary: tickets by SLA state and segment, events by the instant they fell due, compliance.

The counts are the sums of the deltas that triggers on `tickets` append (migrations 0003, 0007,
0008) from each row's stored state; each clock's met or breached count is kept by the UTC day it
was decided. Events are kept by the UTC hour they fell due, appended by the evaluation pass. The
evaluator folds both into one row per key from time to time, so the summary reads a few hundred
rows whatever the number of tickets or events.

A ticket's stored state is its state now unless one of its deadlines passed since it was written
(`next_check_at <= now`, which the evaluator catches up with within milliseconds): for those few,
the difference is counted at read time, so the summary is exact at the instant it is made.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Final, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.kit.statuses import OPEN_STATUS_SQL
from api.sla import checks
from api.sla.schemas import (
    BucketEvents,
    ClockCompliance,
    DailyCompliance,
    DashboardSummary,
    SegmentSummary,
    StateCounts,
)

Window = Literal["24h", "7d", "30d"]
WINDOWS: Final[dict[str, tuple[timedelta, str]]] = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
}
ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"

COUNTS = (
    "total",
    "open",
    "breached",
    "at_risk",
    "response_met",
    "response_breached",
    "resolution_met",
    "resolution_breached",
)
OUTCOMES = COUNTS[4:]
_SUMS = ", ".join(f"sum({name})::bigint AS {name}" for name in COUNTS)

SEGMENT_COUNTS = text(f"""
    SELECT priority, customer_tier, {_SUMS}
    FROM ticket_counts
    GROUP BY priority, customer_tier
    HAVING sum(total) <> 0
    ORDER BY priority, customer_tier
""")

DAY_COUNTS = text(f"""
    SELECT day, {", ".join(f"sum({name})::bigint AS {name}" for name in OUTCOMES)}
    FROM ticket_counts
    WHERE day >= :first_day
    GROUP BY day
""")

# Rows a concurrent writer appends meanwhile are not in this DELETE's snapshot and stay as they are;
# two folds at once each re-insert only what they deleted. The sums never change.
FOLD_TICKETS = text(f"""
    WITH folded AS (DELETE FROM ticket_counts RETURNING *)
    INSERT INTO ticket_counts (priority, customer_tier, day, {", ".join(COUNTS)})
    SELECT priority, customer_tier, day, {_SUMS}
    FROM folded
    GROUP BY priority, customer_tier, day
    HAVING {" OR ".join(f"sum({name}) <> 0" for name in COUNTS)}
""")
FOLD_EVENTS = text("""
    WITH folded AS (DELETE FROM event_counts RETURNING *)
    INSERT INTO event_counts (hour, priority, customer_tier, clock, kind, events)
    SELECT hour, priority, customer_tier, clock, kind, sum(events)
    FROM folded
    GROUP BY hour, priority, customer_tier, clock, kind
""")

EVENTS_BY_BUCKET = text(f"""
    SELECT date_bin(CAST(:bucket AS interval), hour, {ORIGIN}) AS start, kind, sum(events)::bigint AS events
    FROM event_counts
    WHERE hour >= :since AND hour <= :now
    GROUP BY 1, 2
""")


def _day(instant: str) -> str:
    return f"({instant} AT TIME ZONE 'UTC')::date"


def _contributions(state: str, breached_clocks: str) -> list[tuple[str, dict[str, str]]]:
    """What one ticket row adds, as (day, counts) rows: its state counts, then each clock's outcome."""
    rows: list[tuple[str, dict[str, str]]] = [
        (
            "NULL::date",
            {
                "breached": f"({OPEN_STATUS_SQL} AND {state} = 'breached')::int",
                "at_risk": f"({OPEN_STATUS_SQL} AND {state} = 'at_risk')::int",
            },
        )
    ]
    for bit, clock in ((1, "response"), (2, "resolution")):
        breached = f"(({breached_clocks}) & {bit} <> 0)"
        met = f"({clock}_phase = 'stopped' AND ({breached_clocks}) & {bit} = 0)"
        day = f"CASE WHEN {breached} THEN {_day(f'{clock}_due_at')} WHEN {met} THEN {_day(f'{clock}_stopped_at')} END"
        rows.append((day, {f"{clock}_met": f"({met})::int", f"{clock}_breached": f"({breached})::int"}))
    return rows


def _lagging_sql() -> str:
    """Per segment and day, the counts of lagging rows at `:now` less what they stored."""
    row = checks.prefixed("tickets")
    now = _contributions(checks.state_sql(row, ":now"), checks.breached_clocks_sql(row, ":now"))
    stored = _contributions("sla_state", "breached_clocks")
    values = []
    for sign, rows in (("", now), ("-", stored)):
        for day, counts in rows:
            values.append(f"({day}, " + ", ".join(f"{sign}{counts.get(name, '0')}" for name in COUNTS[2:]) + ")")
    return f"""
        SELECT priority, customer_tier, c.day, {", ".join(f"sum(c.{name})::bigint AS {name}" for name in COUNTS[2:])}
        FROM tickets
        CROSS JOIN LATERAL (VALUES {", ".join(values)}) AS c (day, {", ".join(COUNTS[2:])})
        WHERE next_check_at <= :now
        GROUP BY priority, customer_tier, c.day
    """


LAGGING = text(_lagging_sql())


def fold(session: Session) -> None:
    """Replace the appended deltas with one row per key; the caller commits."""
    session.execute(FOLD_TICKETS)
    session.execute(FOLD_EVENTS)


def _ratio(met: int, breached: int) -> float | None:
    return met / (met + breached) if met + breached else None


def _compliance(met: int, breached: int) -> ClockCompliance:
    return ClockCompliance(met=met, breached=breached, compliance=_ratio(met, breached))


Segment = tuple[str, str]


def counts_at(
    session: Session, *, now: datetime, first_day: date | None = None
) -> tuple[dict[Segment, dict[str, int]], dict[date, dict[str, int]]]:
    """The counts at `now` per priority x tier, and the clock outcomes per day from `first_day`."""
    segments: dict[Segment, dict[str, int]] = {}
    for row in session.execute(SEGMENT_COUNTS):
        segments[(row.priority, row.customer_tier)] = {name: getattr(row, name) for name in COUNTS}
    days: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    if first_day is not None:
        for row in session.execute(DAY_COUNTS, {"first_day": first_day}):
            days[row.day] = {name: getattr(row, name) for name in OUTCOMES}
    for row in session.execute(LAGGING, {"now": now}):
        segment = segments.setdefault((row.priority, row.customer_tier), dict.fromkeys(COUNTS, 0))
        for name in COUNTS[2:]:
            segment[name] += getattr(row, name)
        if row.day is not None and first_day is not None and row.day >= first_day:
            for name in OUTCOMES:
                days[row.day][name] += getattr(row, name)
    return segments, days


def segment_counts(session: Session, *, now: datetime) -> dict[Segment, dict[str, int]]:
    """The counts of every priority x tier at `now`."""
    return counts_at(session, now=now)[0]


def _buckets(session: Session, *, now: datetime, window: Window) -> list[BucketEvents]:
    span, bucket = WINDOWS[window]
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    first = (
        now.replace(minute=0, second=0, microsecond=0)
        if bucket == "hour"
        else now.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    starts = [first - step * index for index in range(round(span / step) - 1, -1, -1)]
    found: dict[tuple[datetime, str], int] = {}
    params = {"bucket": f"1 {bucket}", "since": starts[0], "now": now}
    for row in session.execute(EVENTS_BY_BUCKET, params):
        found[(row.start, row.kind)] = row.events
    return [
        BucketEvents(start=start, alerts=found.get((start, "alert"), 0), breaches=found.get((start, "breach"), 0))
        for start in starts
    ]


def summary(session: Session, *, now: datetime, window: Window = "24h") -> DashboardSummary:
    """Counts by SLA state and segment, events by when they fell due over `window`, compliance overall and by day."""
    span, bucket = WINDOWS[window]
    first_day = (now - span).date()
    segments_now, days = counts_at(session, now=now, first_day=first_day)
    segments = []
    totals = StateCounts()
    total_tickets = open_tickets = 0
    outcomes = dict.fromkeys(OUTCOMES, 0)
    for (priority, customer_tier), row in sorted(segments_now.items()):
        if not row["total"]:
            continue
        total_tickets += row["total"]
        open_tickets += row["open"]
        ok = row["open"] - row["breached"] - row["at_risk"]
        totals.breached += row["breached"]
        totals.at_risk += row["at_risk"]
        totals.ok += ok
        for name in OUTCOMES:
            outcomes[name] += row[name]
        segments.append(
            SegmentSummary(
                priority=priority,
                customer_tier=customer_tier,
                open=row["open"],
                ok=ok,
                at_risk=row["at_risk"],
                breached=row["breached"],
                response_compliance=_ratio(row["response_met"], row["response_breached"]),
                resolution_compliance=_ratio(row["resolution_met"], row["resolution_breached"]),
            )
        )
    buckets = _buckets(session, now=now, window=window)
    by_day = [
        DailyCompliance(
            day=first_day + timedelta(days=offset),
            response=_compliance(days[day]["response_met"], days[day]["response_breached"]),
            resolution=_compliance(days[day]["resolution_met"], days[day]["resolution_breached"]),
        )
        for offset in range((now.date() - first_day).days + 1)
        for day in (first_day + timedelta(days=offset),)
    ]
    return DashboardSummary(
        generated_at=now,
        window=window,
        bucket=bucket,
        total_tickets=total_tickets,
        open_tickets=open_tickets,
        by_state=totals,
        by_priority_tier=segments,
        events={"alert": sum(b.alerts for b in buckets), "breach": sum(b.breaches for b in buckets)},
        events_by_due=buckets,
        compliance={
            clock: _compliance(outcomes[f"{clock}_met"], outcomes[f"{clock}_breached"])
            for clock in ("response", "resolution")
        },
        compliance_by_day=by_day,
    )
