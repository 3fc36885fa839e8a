"""Ticket counts per priority x tier, read from the deltas that triggers on `tickets` append."""

from sqlalchemy import text
from sqlalchemy.orm import Session

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


def fold(session: Session) -> None:
    """Replace the appended deltas with one row per segment; the caller commits."""
    session.execute(FOLD)
