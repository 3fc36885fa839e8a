"""The evaluation pass: record the alerts and breaches that fell due, and apply config changes.

Each ticket row stores its four deadlines and a bitmask of the events already recorded; the
generated column `next_check_at` is the earliest deadline not yet recorded and is indexed, so a
pass touches only tickets with something newly due. Events are inserted with ON CONFLICT DO
NOTHING on (ticket, clock, kind): two passes that overlap can never record an event twice.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.sla_config.models import SlaConfigVersion
from api.sla_config.store import ActiveConfig
from api.tickets import service as tickets_service

# A chunk's tickets stay locked until it commits, and a snapshot of one of them waits for that:
# 1,000 keeps the wait near 50 ms; 5,000 made single writes wait up to 200 ms during a burst.
FIRE_CHUNK = 1_000
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
RECOMPUTE_CHUNK = 50_000

FIRE_DUE = text("""
    WITH due AS (
        SELECT id FROM tickets
        WHERE next_check_at <= :now AND next_check_at > :since
        ORDER BY next_check_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), candidates AS (
        SELECT t.id, c.clock, c.kind, c.bit, c.due_at, c.target_us, t.priority, t.customer_tier, t.config_version
        FROM tickets AS t
        JOIN due USING (id)
        CROSS JOIN LATERAL (VALUES
            ('response', 'alert', 1, t.response_alert_at, t.response_target_us),
            ('response', 'breach', 2, t.response_due_at, t.response_target_us),
            ('resolution', 'alert', 4, t.resolution_alert_at, t.resolution_target_us),
            ('resolution', 'breach', 8, t.resolution_due_at, t.resolution_target_us)
        ) AS c (clock, kind, bit, due_at, target_us)
        WHERE c.due_at <= :now AND t.events_recorded & c.bit = 0
    ), inserted AS (
        INSERT INTO sla_events (ticket_id, clock, kind, due_at, detected_at, target_seconds,
                                priority, customer_tier, config_version)
        SELECT id, clock, kind, due_at, :now, (target_us / 1000000)::int, priority, customer_tier, config_version
        FROM candidates
        ORDER BY due_at, id, clock, kind
        ON CONFLICT ON CONSTRAINT uq_sla_events_ticket_clock_kind DO NOTHING
        RETURNING 1
    ), marked AS (
        UPDATE tickets AS t SET events_recorded = t.events_recorded | m.bits
        FROM (SELECT id, bit_or(bit)::smallint AS bits FROM candidates GROUP BY id) AS m
        WHERE t.id = m.id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM due) AS examined,
           (SELECT count(*) FROM inserted) AS recorded,
           (SELECT count(*) FROM marked) AS marked
""")

NEXT_CHECK = text("SELECT min(next_check_at) FROM tickets WHERE next_check_at IS NOT NULL")

OPEN_STATUSES_SQL = "status NOT IN ('resolved', 'closed')"


def _crossing_sql(clock: str, threshold: str, *, single_segment: bool) -> str:
    """SQL of the instant a clock reaches `threshold` microseconds, from the stored summary.

    The response clock is one interval from creation, so its crossing is exact here. A resolution
    clock that already ran past the threshold crossed it in an earlier interval that only the
    history knows: those rows are flagged and replanned from history.
    """
    running = f"t.{clock}_running_since + (x.{threshold} - t.{clock}_elapsed_us) * interval '1 microsecond'"
    if single_segment:
        return (
            f"CASE WHEN t.{clock}_phase = 'running' THEN {running} "
            f"WHEN x.{threshold} <= t.{clock}_elapsed_us THEN t.created_at + x.{threshold} * interval '1 microsecond' "
            "END"
        )
    return f"CASE WHEN t.{clock}_phase = 'running' AND x.{threshold} > t.{clock}_elapsed_us THEN {running} END"


# A walk over the open tickets goes in id order, chunk by chunk, each continuing where the last
# stopped instead of scanning again past the tickets already moved. A chunk is an id range.
CHUNK_END = text("""
    SELECT id FROM tickets
    WHERE id > :after AND (CAST(:upto AS text) IS NULL OR id <= :upto)
    ORDER BY id
    OFFSET :offset
    LIMIT 1
""")

_IN_CHUNK = "id > :after AND (CAST(:last AS text) IS NULL OR id <= :last)"

# The rows are updated in place, not first locked with SELECT ... FOR UPDATE: that lock is written
# to every row and cost an eighth of the chunk. A row a writer holds is waited for; writers lock
# tickets in id order too, and a deadlock all the same is retried by the caller.
RECOMPUTE = text(f"""
    WITH x AS (
        SELECT * FROM jsonb_to_recordset(CAST(:targets AS jsonb)) AS x (
            priority text, customer_tier text, response_target_us bigint, response_alert_us bigint,
            resolution_target_us bigint, resolution_alert_us bigint)
    ), moved AS (
        UPDATE tickets AS t SET
            config_version = :version,
            response_target_us = x.response_target_us,
            response_alert_at = {_crossing_sql("response", "response_alert_us", single_segment=True)},
            response_due_at = {_crossing_sql("response", "response_target_us", single_segment=True)},
            resolution_target_us = x.resolution_target_us,
            resolution_alert_at = {_crossing_sql("resolution", "resolution_alert_us", single_segment=False)},
            resolution_due_at = {_crossing_sql("resolution", "resolution_target_us", single_segment=False)}
        FROM x
        WHERE t.{_IN_CHUNK} AND t.config_version <> :version AND t.config_version = ANY(:same_timeline_versions)
          AND t.{OPEN_STATUSES_SQL} AND x.priority = t.priority AND x.customer_tier = t.customer_tier
        RETURNING t.id, x.resolution_alert_us <= t.resolution_elapsed_us AS needs_history
    ), other_timeline AS (
        SELECT id FROM tickets
        WHERE {_IN_CHUNK} AND config_version <> :version AND NOT (config_version = ANY(:same_timeline_versions))
          AND {OPEN_STATUSES_SQL}
    )
    SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM other_timeline) AS moved,
           ARRAY(SELECT id FROM moved WHERE needs_history UNION ALL SELECT id FROM other_timeline) AS replanned
""")


@dataclass(frozen=True, slots=True)
class FireResult:
    """What one chunk of the pass did."""

    examined: int
    recorded: int


def fire_due(session: Session, *, now: datetime, since: datetime | None = None, limit: int = FIRE_CHUNK) -> FireResult:
    """Record every event due by `now` for up to `limit` tickets; the caller commits."""
    row = session.execute(FIRE_DUE, {"now": now, "since": since or EARLIEST, "limit": limit}).one()
    return FireResult(examined=row.examined, recorded=row.recorded)


def record_due(session: Session, *, now: datetime, since: datetime | None = None) -> int:
    """Record every event due by `now` (of tickets whose next check is after `since`), chunk by chunk.

    Returns how many were recorded. When nothing is due the pass is one index lookup of the
    earliest pending deadline.
    """
    upcoming = next_check_at(session)
    if upcoming is None or upcoming > now:
        session.rollback()
        return 0
    recorded = 0
    while True:
        result = fire_due(session, now=now, since=since)
        session.commit()
        recorded += result.recorded
        if result.examined < FIRE_CHUNK:
            return recorded


def next_check_at(session: Session) -> datetime | None:
    """The earliest instant at which anything not yet recorded falls due."""
    return session.execute(NEXT_CHECK).scalar_one_or_none()


def _targets_document(active: ActiveConfig) -> str:
    rows: list[dict[str, Any]] = []
    for priority, by_tier in active.config.targets.items():
        for tier in by_tier:
            response = active.config.target(priority, tier, "response")
            resolution = active.config.target(priority, tier, "resolution")
            rows.append(
                {
                    "priority": priority,
                    "customer_tier": tier,
                    "response_target_us": response.target_us,
                    "response_alert_us": response.alert_us,
                    "resolution_target_us": resolution.target_us,
                    "resolution_alert_us": resolution.alert_us,
                }
            )
    return orjson.dumps(rows).decode()


def _same_timeline_versions(session: Session, active: ActiveConfig) -> list[int]:
    """Versions whose pause statuses match the active one: their stored clock progress still holds."""
    pause = sorted(active.config.pause_statuses)
    versions = session.execute(select(SlaConfigVersion.version, SlaConfigVersion.document)).all()
    return [version for version, document in versions if sorted(document.get("pause_statuses", [])) == pause]


WALK_SPLITS = text("""
    SELECT id FROM tickets ORDER BY id
    OFFSET greatest((SELECT reltuples FROM pg_class WHERE oid = 'tickets'::regclass), 0)::bigint * :part / :parts
    LIMIT 1
""")


def walk_splits(session: Session, parts: int) -> list[str]:
    """Ids that cut the tickets into `parts` ranges of about equal size (fewer for a small table)."""
    splits = {session.execute(WALK_SPLITS, {"part": part, "parts": parts}).scalar() for part in range(1, parts)}
    return sorted(split for split in splits if split is not None)


@dataclass(frozen=True, slots=True)
class RecomputeResult:
    """What one chunk of a walk over the open tickets moved, and where the walk goes on."""

    moved: int
    next_after: str | None


def recompute_chunk(
    session: Session, *, active: ActiveConfig, after: str = "", upto: str | None = None, limit: int = RECOMPUTE_CHUNK
) -> RecomputeResult:
    """Move the open tickets among the next `limit` ids in (`after`, `upto`] to the active config.

    Targets change set-based in one UPDATE from the stored clock summary. Only tickets whose
    resolution clock crossed a new threshold in an earlier interval, or whose version paused on
    other statuses, are replanned from their history. `next_after` is None once the walk is done.
    The caller commits.
    """
    end = session.execute(CHUNK_END, {"after": after, "upto": upto, "offset": limit - 1}).scalar()
    last = upto if end is None else end
    params = {
        "version": active.version,
        "same_timeline_versions": _same_timeline_versions(session, active),
        "targets": _targets_document(active),
        "after": after,
        "last": last,
    }
    chunk = session.execute(RECOMPUTE, params).one()
    tickets_service.replan(session, ticket_ids=chunk.replanned, active=active)
    return RecomputeResult(moved=chunk.moved, next_after=end)
