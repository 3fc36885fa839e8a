"""The effect a candidate config would have on the open tickets, computed without applying anything.

Tickets the walk would move by arithmetic on their summary are counted in one statement, with the
walk's own expressions; tickets it would replay are replayed here in memory, from their history.
Tickets on a version whose deadline rules equal the candidate's would not move at all.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.kit.statuses import OPEN_STATUS_SQL
from api.models import Ticket
from api.sla import checks, planning, replay, state, walk
from api.sla_config import versions
from api.sla_config.schema import SlaConfig

REPLAY_BATCH = 5_000
DEADLINES = ("response_alert_at", "response_due_at", "resolution_alert_at", "resolution_due_at")

_MOVED = " OR ".join(f"(t.{column} IS DISTINCT FROM {walk.moved(column)})" for column in DEADLINES)

BY_ARITHMETIC = text(f"""
    WITH {walk.TARGETS_AND_MOVABLE}, compared AS (
        SELECT t.priority, t.customer_tier, ({_MOVED}) AS moved,
               {checks.state_sql(checks.prefixed("t"), ":now")} AS before,
               {checks.state_sql(walk.moved, ":now")} AS after
        FROM tickets AS t
        JOIN targets ON targets.priority = t.priority AND targets.customer_tier = t.customer_tier
        JOIN movable ON movable.version = t.config_version AND movable.priority = t.priority
                    AND movable.customer_tier = t.customer_tier
        WHERE t.{OPEN_STATUS_SQL} AND NOT (t.config_version = ANY(:equivalent_versions))
          AND targets.resolution_alert_us > t.resolution_elapsed_us
    )
    SELECT priority, customer_tier, count(*) FILTER (WHERE moved) AS moved,
           count(*) FILTER (WHERE after = 'at_risk' AND before = 'ok') AS newly_at_risk,
           count(*) FILTER (WHERE after = 'breached' AND before <> 'breached') AS newly_breached,
           count(*) FILTER (WHERE before = 'breached' AND after <> 'breached') AS no_longer_breached
    FROM compared
    GROUP BY priority, customer_tier
""")

TO_REPLAY = text(f"""
    WITH targets AS (
        SELECT * FROM jsonb_to_recordset(CAST(:targets AS jsonb)) AS targets (
            priority text, customer_tier text, resolution_alert_us bigint)
    ), movable AS (
        SELECT * FROM jsonb_to_recordset(CAST(:movable AS jsonb)) AS movable (
            version int, priority text, customer_tier text)
    )
    SELECT t.id FROM tickets AS t
    JOIN targets ON targets.priority = t.priority AND targets.customer_tier = t.customer_tier
    WHERE t.{OPEN_STATUS_SQL} AND NOT (t.config_version = ANY(:equivalent_versions))
      AND (targets.resolution_alert_us <= t.resolution_elapsed_us OR NOT EXISTS (
          SELECT FROM movable
          WHERE movable.version = t.config_version AND movable.priority = t.priority
            AND movable.customer_tier = t.customer_tier))
    ORDER BY t.id
""")

OPEN_BY_SEGMENT = text(f"SELECT priority, customer_tier, count(*) FROM tickets WHERE {OPEN_STATUS_SQL} GROUP BY 1, 2")


@dataclass
class SegmentEffect:
    """What the candidate does to the open tickets of one priority x tier."""

    open_tickets: int = 0
    deadlines_moved: int = 0
    newly_at_risk: int = 0
    newly_breached: int = 0
    no_longer_breached: int = 0


@dataclass
class Effect:
    """What the candidate does to all open tickets, and per priority x tier."""

    segments: dict[tuple[str, str], SegmentEffect] = field(default_factory=lambda: defaultdict(SegmentEffect))

    def total(self, name: str) -> int:
        """One figure summed over every segment."""
        return sum(getattr(segment, name) for segment in self.segments.values())


def _ids_in_batches(session: Session, params: dict[str, Any]) -> Iterator[list[str]]:
    ids = list(session.scalars(TO_REPLAY, params))
    for start in range(0, len(ids), REPLAY_BATCH):
        yield ids[start : start + REPLAY_BATCH]


def _replayed(session: Session, ids: list[str], candidate: SlaConfig, now: datetime, effect: Effect) -> None:
    """Replay these tickets under the candidate in memory and count what changes."""
    rows = session.execute(text(replay.READ_HISTORY.replace("%(ids)s", ":ids")), {"ids": ids}).all()
    tickets = {ticket.id: ticket for ticket in session.query(Ticket).filter(Ticket.id.in_(ids))}
    for ticket_id, snapshots in replay.histories_of([tuple(row) for row in rows]).items():
        current = snapshots[max(snapshots)]
        planned = planning.plan_clocks(current, snapshots.values(), candidate)
        ticket = tickets[ticket_id]
        segment = effect.segments[(ticket.priority, ticket.customer_tier)]
        moved = any(planned[column] != getattr(ticket, column) for column in DEADLINES)
        before = state.ticket_sla_state(ticket, now)
        after = state.sla_state_of(planned, now)
        segment.deadlines_moved += moved
        segment.newly_at_risk += before == "ok" and after == "at_risk"
        segment.newly_breached += before != "breached" and after == "breached"
        segment.no_longer_breached += before == "breached" and after != "breached"


def preview(session: Session, *, candidate: SlaConfig, now: datetime) -> Effect:
    """The effect of `candidate` on the open tickets at `now`; refuses, as a reload does, one that orphans them."""
    versions.refuse_orphans(session, candidate)
    effect = Effect()
    for priority, tier, count in session.execute(OPEN_BY_SEGMENT):
        effect.segments[(priority, tier)].open_tickets = count
    params = {
        "targets": walk.targets_document(candidate),
        "movable": walk.movable_document(session, candidate),
        "equivalent_versions": list(versions.equivalent_versions(session, candidate.as_document())),
        "now": now,
    }
    for row in session.execute(BY_ARITHMETIC, params):
        segment = effect.segments[(row.priority, row.customer_tier)]
        segment.deadlines_moved += row.moved
        segment.newly_at_risk += row.newly_at_risk
        segment.newly_breached += row.newly_breached
        segment.no_longer_breached += row.no_longer_breached
    for ids in _ids_in_batches(session, params):
        _replayed(session, ids, candidate, now, effect)
    return effect
