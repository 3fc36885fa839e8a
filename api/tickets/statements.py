"""The SQL of ingestion: claim every ticket of a batch, then write its history and current state."""

from api.models.tickets import CLOCK_COLUMNS, CLOCK_RECORD, SNAPSHOT_RECORD
from api.sla import checks, clock_sql
from api.sla.replay import NOTIFY_EARLIEST

_RECORD = checks.prefixed("r")
_SNAPSHOT_COLUMNS = ("id", "priority", "customer_tier", "status", "created_at", "updated_at", "first_response_at")
# Of `walk.targets_document`, the targets; the alert points are computed in each row's expressions
# (`clock_sql.alert_us_of`), because the moved-on row cannot join the targets without a subquery per row.
TARGET_RECORD = "priority text, customer_tier text, response_target_us bigint, resolution_target_us bigint"
_THRESHOLD = "%(alert_threshold)s"
_FIRST_COLUMNS = clock_sql.first_snapshot_columns("f", _THRESHOLD)
_STEPS = clock_sql.moved_on_steps("t", "excluded", _THRESHOLD)
_MOVED = clock_sql.moved_on_columns("t", "excluded", "s", _THRESHOLD)
_MOVED_SOURCE = checks.prefixed("m")
_MOVED_TARGETS = ("status", "updated_at", "first_response_at", "received_at", "config_version", *CLOCK_COLUMNS)

# Sent first in a batch's transaction. Every statement of ingestion reaches its rows by key, so a
# sequential scan is never the right plan for it; without this, a plan made while a table was tiny
# (psycopg prepares a statement once it ran five times, and PostgreSQL may keep a generic plan)
# would go on scanning it, once per ticket of every batch, as the table grows.
BY_KEY_ONLY = "SET LOCAL enable_seqscan = off"

# What a ticket CLAIM only locked stored, in the order `_Stored.from_row` reads it.
_STORED = (
    "id",
    "updated_at",
    "created_at",
    "priority",
    "customer_tier",
    "status",
    "first_response_at",
    "config_version",
)

# The one statement that takes every lock a batch needs, in id order, so that concurrent batches
# naming the same tickets queue instead of deadlocking, and that does the common case whole:
# - a new ticket is inserted; one the batch names once, on an always-open calendar (`first`), has
#   its clocks planned here, others (`planned`) come planned from Python;
# - a stored ticket that gets one snapshot newer than all it stored, with the same creation,
#   priority and tier, counted under rules equivalent to these, is moved on from its stored row;
#   `DO UPDATE` sees the newest committed row, even one a concurrent batch wrote meanwhile;
# - any other stored ticket is only locked (the WHERE fails): ingestion reads and writes it next.
# The history of the tickets done here is written here; RETURNING names them, and whether created.
CLAIM = f"""
    WITH targets AS (
        SELECT * FROM json_to_recordset(CAST(%(targets)s AS json)) AS g({TARGET_RECORD})
    ), winners AS (
        SELECT * FROM json_to_recordset(CAST(%(winners)s AS json)) AS w({SNAPSHOT_RECORD}, planned boolean)
    ), first AS (
        SELECT f.*, CASE WHEN f.resolution_phase <> 'running' THEN GREATEST(f.updated_at, f.created_at) END
                    AS resolution_end
        FROM (
            SELECT w.*, g.response_target_us, g.resolution_target_us,
                   {clock_sql.answered("w.created_at", "w.first_response_at", "w.status", "w.updated_at")} AS answered,
                   {clock_sql.phase_of("w.status", "%(pause_statuses)s")} AS resolution_phase
            FROM winners AS w JOIN targets AS g USING (priority, customer_tier)
            WHERE NOT w.planned
        ) AS f
    ), incoming AS (
        SELECT {", ".join(f"f.{column}" for column in _SNAPSHOT_COLUMNS)},
               {", ".join(f"{sql} AS {column}" for column, sql in _FIRST_COLUMNS.items())}
        FROM first AS f
        UNION ALL
        SELECT {", ".join(f"p.{column}" for column in (*_SNAPSHOT_COLUMNS, *CLOCK_COLUMNS))}
        FROM json_to_recordset(CAST(%(planned)s AS json)) AS p({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    ), claimed AS (
        INSERT INTO tickets AS t (id, priority, customer_tier, status, created_at, updated_at, first_response_at,
                                  received_at, config_version, {", ".join(CLOCK_COLUMNS)},
                                  sla_state, breached_clocks, next_check_at)
        SELECT r.id, r.priority, r.customer_tier, r.status, r.created_at, r.updated_at, r.first_response_at,
               %(now)s, %(version)s, {", ".join(f"r.{column}" for column in CLOCK_COLUMNS)},
               {checks.state_sql(_RECORD, "%(now)s")}, {checks.breached_clocks_sql(_RECORD, "%(now)s")},
               {checks.next_check_sql(_RECORD, "0", "%(now)s")}
        FROM incoming AS r
        ORDER BY r.id
        ON CONFLICT (id) DO UPDATE SET
            ({", ".join(_MOVED_TARGETS)}, sla_state, breached_clocks, next_check_at) = (
                SELECT {", ".join(f"excluded.{column}" for column in _MOVED_TARGETS[:5])},
                       {", ".join(f"m.{column}" for column in CLOCK_COLUMNS)},
                       {checks.state_sql(_MOVED_SOURCE, "%(now)s")},
                       {checks.breached_clocks_sql(_MOVED_SOURCE, "%(now)s")},
                       {checks.next_check_sql(_MOVED_SOURCE, "t.events_recorded", "%(now)s")}
                FROM (SELECT {", ".join(f"{sql} AS {column}" for column, sql in _MOVED.items())}
                      FROM (SELECT {_STEPS}) AS s) AS m
            )
        WHERE excluded.updated_at > t.updated_at AND excluded.created_at = t.created_at
          AND excluded.priority = t.priority AND excluded.customer_tier = t.customer_tier
          AND t.config_version = ANY(%(equivalent_versions)s) AND excluded.id <> ALL(%(planned_ids)s)
        -- A row this statement inserted has no deleting or locking transaction yet: xmax is 0; a row
        -- it updated carries the lock ON CONFLICT took (PostgreSQL's heap; from PostgreSQL 18,
        -- RETURNING old.id IS NULL says the same in documented terms).
        RETURNING t.id, t.xmax = 0 AS created, t.next_check_at
    ), history AS (
        INSERT INTO ticket_snapshots (ticket_id, updated_at, priority, customer_tier, created_at, status,
                                      first_response_at, received_at, source)
        SELECT w.id, w.updated_at, w.priority, w.customer_tier, w.created_at, w.status, w.first_response_at,
               %(now)s, %(source)s
        FROM winners AS w JOIN claimed AS c ON c.id = w.id
        RETURNING 1
    ), written AS (SELECT next_check_at FROM claimed),
    notified AS ({NOTIFY_EARLIEST})
    SELECT c.id, c.created, (SELECT count(*) FROM notified) FROM claimed AS c
"""

# Sent right behind CLAIM, in the same round trip. A statement of its own, it reads committed data
# as of its own start, so it sees what every batch CLAIM waited for committed (a read inside CLAIM
# would not): the stored row of each ticket of the batch this transaction did not write (CLAIM only
# locked it), and the whole history of those that get a snapshot older than the newest they stored
# (`since`: each ticket's oldest instant in the batch), with whether it was read.
# Each lookup is a lateral subquery kept apart (OFFSET 0), so that it is a lookup per ticket (an index
# probe, with BY_KEY_ONLY) whatever the tables' statistics say: planned as a join, a batch's thousand
# tickets against a table that grew since its statistics were taken became a hash join over the whole
# table.
READ_LOCKED = f"""
    WITH kept AS (
        SELECT t.*, t.updated_at > s.since AS history_read
        FROM json_to_recordset(CAST(%(since)s AS json)) AS s(id text, since timestamptz)
        CROSS JOIN LATERAL (
            SELECT * FROM tickets WHERE tickets.id = s.id AND tickets.xmin <> pg_current_xact_id()::xid OFFSET 0
        ) AS t
    )
    SELECT 'stored', k.history_read, {", ".join(f"k.{column}" for column in (*_STORED, *CLOCK_COLUMNS))}
    FROM kept AS k
    UNION ALL
    SELECT 'history', NULL, h.ticket_id, h.updated_at, h.created_at, h.priority, h.customer_tier, h.status,
           h.first_response_at, NULL, {", ".join(["NULL"] * len(CLOCK_COLUMNS))}
    FROM kept AS k
    CROSS JOIN LATERAL (SELECT * FROM ticket_snapshots WHERE ticket_snapshots.ticket_id = k.id OFFSET 0) AS h
    WHERE k.history_read
"""

WRITE_HISTORY = f"""
    INSERT INTO ticket_snapshots (ticket_id, updated_at, priority, customer_tier, created_at, status,
                                  first_response_at, received_at, source)
    SELECT r.id, r.updated_at, r.priority, r.customer_tier, r.created_at, r.status, r.first_response_at, %(now)s,
           %(source)s
    FROM json_to_recordset(CAST(%(history)s AS json)) AS r({SNAPSHOT_RECORD})
    ON CONFLICT (ticket_id, updated_at) DO UPDATE SET
        priority = excluded.priority, customer_tier = excluded.customer_tier, created_at = excluded.created_at,
        status = excluded.status, first_response_at = excluded.first_response_at, received_at = excluded.received_at,
        source = excluded.source
"""

# `ids` names the rows again as an array: whatever join the planner picks, it reads only those tickets.
WRITE_CURRENT = f"""
    UPDATE tickets AS t SET
        priority = r.priority, customer_tier = r.customer_tier, status = r.status, created_at = r.created_at,
        updated_at = r.updated_at, first_response_at = r.first_response_at, received_at = %(now)s,
        config_version = %(version)s,
        {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)},
        {checks.derived_assignments(_RECORD, "t.events_recorded", "%(now)s")}
    FROM json_to_recordset(CAST(%(rows)s AS json)) AS r({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    WHERE t.id = r.id AND t.id = ANY(%(ids)s)
    RETURNING t.next_check_at
"""

# History and current state of the tickets CLAIM only locked, in one statement, which also
# announces the earliest of their new deadlines.
WRITE_BATCH = f"""
    WITH history AS ({WRITE_HISTORY} RETURNING 1),
         updated AS ({WRITE_CURRENT}),
         written AS (SELECT next_check_at FROM updated),
         notified AS ({NOTIFY_EARLIEST})
    SELECT (SELECT count(*) FROM notified) AS notified
"""
