"""The dashboard summary: ticket counts per priority x tier, compliance, events of the last 24 hours.

The counts are the sums of the deltas that triggers on `tickets` append (migration 0003); the
evaluator folds them into one row per segment from time to time.
"""

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

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
    for row in session.execute(SEGMENT_COUNTS):
        total_tickets += row.total
        open_tickets += row.open
        totals.breached += row.breached
        totals.at_risk += row.at_risk
        totals.ok += row.open - row.breached - row.at_risk
        for clock in ("response", "resolution"):
            met[clock] += getattr(row, f"{clock}_met")
            breached[clock] += getattr(row, f"{clock}_breached")
        segments.append(
            SegmentSummary(
                priority=row.priority,
                customer_tier=row.customer_tier,
                open=row.open,
                at_risk=row.at_risk,
                breached=row.breached,
                response_compliance=_ratio(row.response_met, row.response_breached),
                resolution_compliance=_ratio(row.resolution_met, row.resolution_breached),
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
