"""The evaluation pass: record the alerts and breaches that fell due, and queue their notifications.

Each ticket row stores its four deadlines, a bitmask of the events already recorded and, indexed,
`next_check_at`: the earliest deadline still ahead or passed but unrecorded (`api/sla/checks.py`),
so a pass touches only tickets with something newly due, records their events, and moves their
stored SLA state on. Events are inserted with ON CONFLICT DO
NOTHING on (ticket, clock, kind): two passes that overlap can never record an event twice.

The same statement writes one outbox row per (event, matching destination), so an event recorded
is never left undelivered, and announces the new events and deliveries on commit. Chunks that
record events take a lock first, so events commit in the order of their ids: a client that has
seen event n can ask for the events after n and miss none.
"""

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.kit import clock, metrics
from api.kit.channels import DELIVERIES_CHANNEL, EVENTS_CHANNEL
from api.models.tickets import EVENT_BITS, deadline_column
from api.sla import checks
from api.sla_config.store import ActiveConfig

# A chunk's tickets stay locked until it commits, and a snapshot of one of them waits for that:
# 1,000 keeps the wait near 50 ms; 5,000 made single writes wait up to 200 ms during a burst.
RECORD_CHUNK = 1_000
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
EVENT_LOG_LOCK_KEY = 7_306_241_003

_DEADLINES = ",\n            ".join(
    f"('{clock}', '{kind}', {bit}, t.{deadline_column(clock, kind)}, t.{clock}_target_us)"
    for (clock, kind), bit in EVENT_BITS.items()
)

RECORD_DUE = text(f"""
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
            {_DEADLINES}
        ) AS c (clock, kind, bit, due_at, target_us)
        WHERE c.due_at <= :now AND t.events_recorded & c.bit = 0
    ), inserted AS (
        INSERT INTO sla_events (ticket_id, clock, kind, due_at, detected_at, target_seconds,
                                priority, customer_tier, config_version)
        SELECT id, clock, kind, due_at, :now, (target_us / 1000000)::int, priority, customer_tier,
               CASE WHEN config_version = ANY(:equivalent_versions) THEN :version ELSE config_version END
        FROM candidates
        ORDER BY due_at, id, clock, kind
        ON CONFLICT ON CONSTRAINT uq_sla_events_ticket_clock_kind DO NOTHING
        RETURNING id, clock, kind, priority, customer_tier, due_at
    ), counted AS (
        INSERT INTO event_counts (hour, priority, customer_tier, clock, kind, events)
        SELECT date_bin('1 hour', due_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), priority, customer_tier, clock, kind,
               count(*)
        FROM inserted
        GROUP BY 1, 2, 3, 4, 5
        RETURNING 1
    ), queued AS (
        -- Only events this statement inserted, to destinations named once each, so nothing can conflict.
        INSERT INTO notification_deliveries (event_id, destination, next_attempt_at, created_at)
        SELECT i.id, d.name, :now, :now
        FROM inserted AS i
        JOIN json_to_recordset(CAST(:destinations AS json))
             AS d (name text, kinds text[], clocks text[], priorities text[], tiers text[])
          ON (d.kinds IS NULL OR i.kind = ANY(d.kinds)) AND (d.clocks IS NULL OR i.clock = ANY(d.clocks))
         AND (d.priorities IS NULL OR i.priority = ANY(d.priorities))
         AND (d.tiers IS NULL OR i.customer_tier = ANY(d.tiers))
        ORDER BY i.id, d.name
        RETURNING 1
    ), announced AS (
        SELECT pg_notify('{EVENTS_CHANNEL}', max(id)::text) FROM inserted HAVING count(*) > 0
        UNION ALL
        SELECT pg_notify('{DELIVERIES_CHANNEL}', '') FROM (SELECT FROM queued LIMIT 1) AS any_queued
    ), marked AS (
        UPDATE tickets AS t SET
            events_recorded = t.events_recorded | m.bits,
            {checks.derived_assignments(checks.prefixed("t"), "t.events_recorded | m.bits", ":now")}
        FROM (
            SELECT due.id, coalesce(bit_or(candidates.bit), 0)::smallint AS bits
            FROM due LEFT JOIN candidates USING (id)
            GROUP BY due.id
        ) AS m
        WHERE t.id = m.id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM due) AS examined,
           (SELECT count(*) FROM inserted) AS recorded,
           (SELECT count(*) FROM queued) AS queued,
           (SELECT count(*) FROM marked) AS marked,
           (SELECT count(*) FROM announced) AS announced,
           (SELECT count(*) FROM counted) AS counted,
           (SELECT json_agg(json_build_array(o.clock, o.kind, o.delays)) FROM (
                SELECT clock, kind, array_agg(EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - due_at))::float8)
                       AS delays
                FROM inserted GROUP BY clock, kind
           ) AS o) AS observed
""")

LOCK_EVENT_LOG = text("SELECT pg_advisory_xact_lock(:key)")

NEXT_CHECK = text("SELECT min(next_check_at) FROM tickets WHERE next_check_at IS NOT NULL")


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What one chunk of the pass did."""

    examined: int
    recorded: int
    queued: int
    # (clock, kind, the delay of each event recorded), for the metrics once the chunk commits.
    observed: list[tuple[str, str, list[float]]] = field(default_factory=list)


def _rules(active: ActiveConfig | None) -> dict[str, object]:
    """The config's part in a pass: the version events name, and the destinations their deliveries go to."""
    if active is None:
        return {"version": 0, "equivalent_versions": [], "destinations": "[]"}
    destinations = [destination.filter_document(name) for name, destination in active.config.notifications.items()]
    return {
        "version": active.version,
        "equivalent_versions": list(active.equivalent_versions or (active.version,)),
        "destinations": orjson.dumps(destinations).decode(),
    }


def record_chunk(
    session: Session,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    active: ActiveConfig | None = None,
    limit: int = RECORD_CHUNK,
) -> ChunkResult:
    """Record every event due by `now` for up to `limit` tickets and queue their deliveries; the caller commits.

    Without `now`, the clock is read once the event log is locked, so `detected_at` is the instant
    the chunk runs, milliseconds before its commit. Without `active`, events name the version of
    their ticket and go to no destination.
    """
    session.execute(LOCK_EVENT_LOG, {"key": EVENT_LOG_LOCK_KEY})
    params = {"now": now or clock.utc_now(), "since": since or EARLIEST, "limit": limit, **_rules(active)}
    row = session.execute(RECORD_DUE, params).one()
    observed = [(clock, kind, delays) for clock, kind, delays in row.observed or ()]
    return ChunkResult(examined=row.examined, recorded=row.recorded, queued=row.queued, observed=observed)


def _count(result: ChunkResult) -> None:
    """Count a committed chunk's events and how late each was recorded."""
    for clock_name, kind, delays in result.observed:
        metrics.EVENTS.labels(kind=kind, clock=clock_name).inc(len(delays))
        for delay in delays:
            metrics.EVENT_DELAY.observe(delay)


def next_check_at(session: Session) -> datetime | None:
    """The earliest instant at which anything not yet recorded falls due."""
    return session.execute(NEXT_CHECK).scalar_one_or_none()


def record_due(
    sessions: sessionmaker[Session],
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    active: ActiveConfig | None = None,
    stopping: threading.Event | None = None,
) -> int:
    """The pass: record every event due by `now` (of tickets whose next check is after `since`).

    Without `now`, each chunk records what is due when it runs. Returns how many were recorded.
    Each chunk commits on its own, so a ticket being evaluated is held for one chunk, not the
    whole pass. When nothing is due the pass is one index lookup of the earliest pending deadline.

    Once `stopping` is set, the pass ends after the chunk it is in; the next leader records the rest.
    """
    with sessions() as session:
        upcoming = next_check_at(session)
        if upcoming is None or upcoming > (now or clock.utc_now()):
            return 0
        recorded = 0
        while True:
            result = record_chunk(session, now=now, since=since, active=active)
            session.commit()
            recorded += result.recorded
            _count(result)
            if result.examined < RECORD_CHUNK or (stopping is not None and stopping.is_set()):
                return recorded
