"""The config walk: move every open ticket's targets and deadlines to the config in force.

The leader walks the open tickets in id order, in `WALK_LANES` id ranges at once (each on its own
connection, so PostgreSQL can use both cores of a small machine), one statement a chunk that moves
targets and deadlines from the stored clock summary. Only tickets whose resolution clock crossed a
new threshold in an earlier interval, whose config paused on other statuses, or that count in a
business-hours calendar (before or after) are replayed from their history. A walk that moved
anything is followed by another, which catches tickets a process with an older config wrote
meanwhile.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from api.kit import clock
from api.kit.statuses import OPEN_STATUS_SQL
from api.kit.steps import is_retryable
from api.models import SlaConfigVersion
from api.sla import checks, replay
from api.sla_config.calendars import ALWAYS_OPEN_NAME
from api.sla_config.schema import SlaConfig
from api.sla_config.store import ActiveConfig

logger = logging.getLogger(__name__)

MOVE_CHUNK = 50_000
WALK_LANES = 2
# Events due after the walk began, less this margin, are recorded between its chunks.
RECENT_MARGIN = timedelta(seconds=1)


def _crossing_sql(clock: str, threshold: str, *, single_segment: bool) -> str:
    """SQL of the instant a clock reaches `threshold` microseconds, from the stored summary.

    The response clock is one interval from creation, so its crossing is exact here. A resolution
    clock that already ran past the threshold crossed it in an earlier interval that only the
    history knows: those rows are flagged and replayed from history.
    """
    running = f"t.{clock}_running_since + (targets.{threshold} - t.{clock}_elapsed_us) * interval '1 microsecond'"
    if single_segment:
        return (
            f"CASE WHEN t.{clock}_phase = 'running' THEN {running} "
            f"WHEN targets.{threshold} <= t.{clock}_elapsed_us "
            f"THEN t.created_at + targets.{threshold} * interval '1 microsecond' END"
        )
    return f"CASE WHEN t.{clock}_phase = 'running' AND targets.{threshold} > t.{clock}_elapsed_us THEN {running} END"


# A chunk is an id range: each continues where the last stopped instead of scanning again past
# the tickets already moved.
CHUNK_END = text("""
    SELECT id FROM tickets
    WHERE id > :after AND (CAST(:upto AS text) IS NULL OR id <= :upto)
    ORDER BY id
    OFFSET :offset
    LIMIT 1
""")

_IN_CHUNK = "id > :after AND (CAST(:last AS text) IS NULL OR id <= :last)"

MOVED_DEADLINES = {
    "response_alert_at": _crossing_sql("response", "response_alert_us", single_segment=True),
    "response_due_at": _crossing_sql("response", "response_target_us", single_segment=True),
    "resolution_alert_at": _crossing_sql("resolution", "resolution_alert_us", single_segment=False),
    "resolution_due_at": _crossing_sql("resolution", "resolution_target_us", single_segment=False),
}


def moved(column: str) -> str:
    """A column of the moved row: its new deadline, or its stored value."""
    return f"({MOVED_DEADLINES[column]})" if column in MOVED_DEADLINES else f"t.{column}"


# The config's targets per priority x tier, and the versions whose tickets the walk may move by
# arithmetic (`targets_document`, `movable_document`): the walk's and the preview's first two CTEs.
TARGETS_AND_MOVABLE = """targets AS (
        SELECT * FROM jsonb_to_recordset(CAST(:targets AS jsonb)) AS targets (
            priority text, customer_tier text, response_target_us bigint, response_alert_us bigint,
            resolution_target_us bigint, resolution_alert_us bigint)
    ), movable AS (
        SELECT * FROM jsonb_to_recordset(CAST(:movable AS jsonb)) AS movable (
            version int, priority text, customer_tier text)
    )"""

# The rows are updated in place, not first locked with SELECT ... FOR UPDATE: that lock is written
# to every row and cost an eighth of the chunk. A row a writer holds is waited for; writers lock
# tickets in id order too, and a deadlock all the same reruns the chunk.
MOVE = text(f"""
    WITH {TARGETS_AND_MOVABLE}, moved AS (
        UPDATE tickets AS t SET
            config_version = :version,
            response_target_us = targets.response_target_us,
            resolution_target_us = targets.resolution_target_us,
            {", ".join(f"{column} = {sql}" for column, sql in MOVED_DEADLINES.items())},
            {checks.derived_assignments(moved, "t.events_recorded", ":now")}
        FROM targets JOIN movable USING (priority, customer_tier)
        WHERE t.{_IN_CHUNK} AND NOT (t.config_version = ANY(:equivalent_versions))
          AND t.config_version = movable.version AND t.priority = movable.priority
          AND t.customer_tier = movable.customer_tier
          AND t.{OPEN_STATUS_SQL} AND targets.priority = t.priority AND targets.customer_tier = t.customer_tier
        RETURNING t.id, targets.resolution_alert_us <= t.resolution_elapsed_us AS needs_history
    ), other_timeline AS (
        SELECT id FROM tickets AS t
        WHERE {_IN_CHUNK} AND NOT (config_version = ANY(:equivalent_versions)) AND {OPEN_STATUS_SQL}
          AND NOT EXISTS (
              SELECT FROM movable
              WHERE movable.version = t.config_version AND movable.priority = t.priority
                AND movable.customer_tier = t.customer_tier)
    )
    SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM other_timeline) AS moved,
           ARRAY(SELECT id FROM moved WHERE needs_history UNION ALL SELECT id FROM other_timeline) AS replayed
""")

NESTLOOP_SETTING = text("SELECT current_setting('enable_nestloop')")
SET_NESTLOOP_LOCALLY = text("SELECT set_config('enable_nestloop', :value, true)")

SPLITS = text("""
    SELECT id FROM tickets ORDER BY id
    OFFSET greatest((SELECT reltuples FROM pg_class WHERE oid = 'tickets'::regclass), 0)::bigint * :part / :parts
    LIMIT 1
""")


def targets_document(config: SlaConfig) -> str:
    """Every segment's targets and alert points, as the walk's, the preview's and ingestion's SQL read them."""
    rows: list[dict[str, Any]] = []
    for priority, by_tier in config.targets.items():
        for tier in by_tier:
            response = config.target(priority, tier, "response")
            resolution = config.target(priority, tier, "resolution")
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


def _always_open(document: dict[str, Any], priority: str, tier: str) -> bool:
    """Whether a stored config counted a priority x tier around the clock."""
    pair = document.get("targets", {}).get(priority, {}).get(tier)
    return (
        pair is not None and (pair.get("calendar") or document.get("calendar") or ALWAYS_OPEN_NAME) == ALWAYS_OPEN_NAME
    )


def movable_document(session: Session, config: SlaConfig) -> str:
    """(version, priority, tier) whose tickets move to the active targets by arithmetic on their summary.

    Their stored progress still holds (the same pause statuses), and both the old and the new
    config count their segment around the clock, so a deadline is a start plus a remaining time.
    Every other open ticket is replayed from its history.
    """
    pause = sorted(config.pause_statuses)
    new = config.as_document()
    segments = [
        (priority, tier)
        for priority, by_tier in config.targets.items()
        for tier in by_tier
        if _always_open(new, priority, tier)
    ]
    rows = []
    for version, document in session.execute(select(SlaConfigVersion.version, SlaConfigVersion.document)):
        if sorted(document.get("pause_statuses", [])) != pause:
            continue
        rows += [
            {"version": version, "priority": priority, "customer_tier": tier}
            for priority, tier in segments
            if _always_open(document, priority, tier)
        ]
    return orjson.dumps(rows).decode()


# The distinct versions of open tickets, one probe of their index each, stopping at the first
# that is not the config in force: with nothing stale, a few index lookups whatever the ticket count.
STALE_EXISTS = text(f"""
    WITH RECURSIVE versions (version) AS (
        (SELECT config_version FROM tickets WHERE {OPEN_STATUS_SQL} ORDER BY config_version LIMIT 1)
        UNION ALL
        SELECT (SELECT t.config_version FROM tickets AS t
                WHERE t.{OPEN_STATUS_SQL} AND t.config_version > versions.version
                ORDER BY t.config_version LIMIT 1)
        FROM versions WHERE versions.version IS NOT NULL
    )
    SELECT EXISTS (SELECT FROM versions WHERE version IS NOT NULL AND NOT (version = ANY(:equivalent_versions)))
""")


def anything_stale(session: Session, active: ActiveConfig) -> bool:
    """Whether any open ticket is on a config version other than `active` (or one equivalent to it)."""
    equivalent = list(active.equivalent_versions or (active.version,))
    return bool(session.execute(STALE_EXISTS, {"equivalent_versions": equivalent}).scalar_one())


def splits(session: Session, parts: int) -> list[str]:
    """Ids that cut the tickets into `parts` ranges of about equal size (fewer for a small table)."""
    found = {session.execute(SPLITS, {"part": part, "parts": parts}).scalar() for part in range(1, parts)}
    return sorted(split for split in found if split is not None)


@dataclass(frozen=True, slots=True)
class ChunkMoved:
    """What one chunk of a walk moved, and where the walk goes on (None once done)."""

    moved: int
    next_after: str | None


def move_chunk(
    session: Session,
    *,
    active: ActiveConfig,
    now: datetime,
    after: str = "",
    upto: str | None = None,
    limit: int = MOVE_CHUNK,
) -> ChunkMoved:
    """Move the open tickets among the next `limit` ids in (`after`, `upto`] to the active config.

    Targets change set-based in one UPDATE from the stored clock summary; tickets that need
    their history are replayed. The caller commits.
    """
    end = session.execute(CHUNK_END, {"after": after, "upto": upto, "offset": limit - 1}).scalar()
    params = {
        "version": active.version,
        "equivalent_versions": list(active.equivalent_versions or (active.version,)),
        "movable": movable_document(session, active.config),
        "targets": targets_document(active.config),
        "after": after,
        "last": upto if end is None else end,
        "now": now,
    }
    # The planner estimates the join of the targets and movable documents at one row and would
    # scan the chunk once per segment (a third of the chunk's time, in EXPLAIN ANALYZE) instead of once.
    before = session.execute(NESTLOOP_SETTING).scalar_one()
    session.execute(SET_NESTLOOP_LOCALLY, {"value": "off"})
    chunk = session.execute(MOVE, params).one()
    session.execute(SET_NESTLOOP_LOCALLY, {"value": before})
    replay.replay(session, ticket_ids=chunk.replayed, active=active, now=now)
    return ChunkMoved(moved=chunk.moved, next_after=end)


@dataclass
class _Lane:
    """One id range of a walk: (after, upto], and whether it is walked to its end."""

    after: str
    upto: str | None
    done: bool = False


@dataclass
class ConfigWalk:
    """Where the walk to a config version stands: its lanes, what it moved, when it began."""

    sessions: sessionmaker[Session]
    version: int = 0
    lanes: list[_Lane] = field(default_factory=list)
    moved: int = 0
    started_at: datetime | None = None
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=WALK_LANES, thread_name_prefix="sla-walk")
    )

    def recent(self, now: datetime) -> datetime:
        """Events due after this instant are recorded while the walk goes on: those due since it began."""
        if self.started_at is None:
            self.started_at = now
        return self.started_at - RECENT_MARGIN

    @property
    def in_progress(self) -> bool:
        """Whether a walk has begun and not yet gone through every lane."""
        return bool(self.lanes)

    def step(self, active: ActiveConfig) -> bool:
        """Move one chunk per lane to `active`; True once a whole walk found nothing to move."""
        if self.version != active.version or not self.lanes:
            with self.sessions() as session:
                bounds = ["", *splits(session, WALK_LANES)]
            self.version, self.moved, self.started_at = active.version, 0, None
            self.lanes = [_Lane(after, upto) for after, upto in zip(bounds, [*bounds[1:], None], strict=True)]
        pending = [lane for lane in self.lanes if not lane.done]
        self.moved += sum(self._pool.map(lambda lane: self._move_lane(lane, active), pending))
        if not all(lane.done for lane in self.lanes):
            return False
        done = self.moved == 0
        self.lanes, self.moved, self.started_at = [], 0, None
        return done

    def _move_lane(self, lane: _Lane, active: ActiveConfig) -> int:
        """Move the next chunk of one lane in its own transaction; a deadlock with a writer reruns it later."""
        with self.sessions() as session:
            try:
                result = move_chunk(session, active=active, now=clock.utc_now(), after=lane.after, upto=lane.upto)
                session.commit()
            except Exception as error:
                if not is_retryable(error):
                    raise
                logger.warning("a config walk chunk met a writer in a deadlock; it runs again")
                return 0
        lane.after = result.next_after or lane.after
        lane.done = result.next_after is None
        return result.moved

    def close(self) -> None:
        """Let go of the lane threads."""
        self._pool.shutdown(wait=False)
