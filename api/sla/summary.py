"""The dashboard summary: ticket counts per priority x tier, compliance, events of the last 24 hours.

The counts are the sums of the deltas that triggers on `tickets` append (migrations 0003, 0007)
from each row's stored state; the evaluator folds them into one row per segment from time to time.
A ticket's stored state is its state now unless one of its deadlines passed since it was written
(`next_check_at <= now`, which the evaluator catches up with within milliseconds): for those few,
the difference is counted at read time, so the summary is exact at the instant it is made.
"""

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.kit.statuses import OPEN_STATUS_SQL
from api.sla import checks
from api.sla.schemas import ClockCompliance, DashboardSummary, HourlyEvents, SegmentSummary, StateCounts

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
_SUMS = ", ".join(f"sum({name})::bigint AS {name}" for name in COUNTS)

SEGMENT_COUNTS = text(f"""
    SELECT priority, customer_tier, {_SUMS}
    FROM ticket_counts
    GROUP BY priority, customer_tier
    HAVING sum(total) <> 0
    ORDER BY priority, customer_tier
""")

# Rows a concurrent writer appends meanwhile are not in this DELETE's snapshot and stay as they are;
# two folds at once each re-insert only what they deleted. The sums never change.
FOLD = text(f"""
    WITH folded AS (DELETE FROM ticket_counts RETURNING *)
    INSERT INTO ticket_counts (priority, customer_tier, {", ".join(COUNTS)})
    SELECT priority, customer_tier, {_SUMS}
    FROM folded
    GROUP BY priority, customer_tier
    HAVING sum(total) <> 0
""")


def _contributions(state: str, breached_clocks: str) -> dict[str, str]:
    """What one ticket row adds to each count whose value depends on the state (the others never lag)."""
    return {
        "breached": f"({OPEN_STATUS_SQL} AND {state} = 'breached')::int",
        "at_risk": f"({OPEN_STATUS_SQL} AND {state} = 'at_risk')::int",
        "response_met": f"(response_phase = 'stopped' AND ({breached_clocks}) & 1 = 0)::int",
        "response_breached": f"(({breached_clocks}) & 1 <> 0)::int",
        "resolution_met": f"(resolution_phase = 'stopped' AND ({breached_clocks}) & 2 = 0)::int",
        "resolution_breached": f"(({breached_clocks}) & 2 <> 0)::int",
    }


_NOW = _contributions(
    checks.state_sql(checks.prefixed("tickets"), ":now"), checks.breached_clocks_sql(checks.prefixed("tickets"), ":now")
)
_STORED = _contributions("sla_state", "breached_clocks")

LAGGING = text(f"""
    SELECT priority, customer_tier,
           {", ".join(f"sum({_NOW[name]} - {_STORED[name]})::bigint AS {name}" for name in _NOW)}
    FROM tickets
    WHERE next_check_at <= :now
    GROUP BY priority, customer_tier
""")


def segment_counts(session: Session, *, now: datetime) -> dict[tuple[str, str], dict[str, int]]:
    """The counts of every priority x tier at `now`: the kept sums, plus the difference of lagging rows."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for row in session.execute(SEGMENT_COUNTS):
        counts[(row.priority, row.customer_tier)] = {name: getattr(row, name) for name in COUNTS}
    for row in session.execute(LAGGING, {"now": now}):
        segment = counts.setdefault((row.priority, row.customer_tier), dict.fromkeys(COUNTS, 0))
        for name in _NOW:
            segment[name] += getattr(row, name)
    return counts


EVENTS_BY_HOUR = text("""
    SELECT date_trunc('hour', detected_at) AS hour,
           count(*) FILTER (WHERE kind = 'alert') AS alerts,
           count(*) FILTER (WHERE kind = 'breach') AS breaches
    FROM sla_events
    WHERE detected_at > :since
    GROUP BY 1
    ORDER BY 1
""")


def fold(session: Session) -> None:
    """Replace the appended deltas with one row per segment; the caller commits."""
    session.execute(FOLD)


def _ratio(met: int, breached: int) -> float | None:
    return met / (met + breached) if met + breached else None


def summary(session: Session, *, now: datetime) -> DashboardSummary:
    """Counts by SLA state (as recorded events tell it) and by priority x tier, compliance, events of the last 24 h."""
    segments = []
    totals = StateCounts()
    total_tickets = open_tickets = 0
    met = {"response": 0, "resolution": 0}
    breached = {"response": 0, "resolution": 0}
    for (priority, customer_tier), row in sorted(segment_counts(session, now=now).items()):
        total_tickets += row["total"]
        open_tickets += row["open"]
        totals.breached += row["breached"]
        totals.at_risk += row["at_risk"]
        totals.ok += row["open"] - row["breached"] - row["at_risk"]
        for clock in ("response", "resolution"):
            met[clock] += row[f"{clock}_met"]
            breached[clock] += row[f"{clock}_breached"]
        segments.append(
            SegmentSummary(
                priority=priority,
                customer_tier=customer_tier,
                open=row["open"],
                at_risk=row["at_risk"],
                breached=row["breached"],
                response_compliance=_ratio(row["response_met"], row["response_breached"]),
                resolution_compliance=_ratio(row["resolution_met"], row["resolution_breached"]),
            )
        )
    hourly = [
        HourlyEvents(hour=row.hour, alerts=row.alerts, breaches=row.breaches)
        for row in session.execute(EVENTS_BY_HOUR, {"since": now - timedelta(hours=24)})
    ]
    return DashboardSummary(
        generated_at=now,
        total_tickets=total_tickets,
        open_tickets=open_tickets,
        by_state=totals,
        by_priority_tier=segments,
        events_last_24h={
            "alert": sum(hour.alerts for hour in hourly),
            "breach": sum(hour.breaches for hour in hourly),
        },
        events_by_hour=hourly,
        compliance={
            clock: ClockCompliance(
                met=met[clock], breached=breached[clock], compliance=_ratio(met[clock], breached[clock])
            )
            for clock in ("response", "resolution")
        },
    )
