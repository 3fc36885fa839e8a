"""The SQL of ingestion: claim every ticket of a batch, then write its history and current state."""

from api.models.tickets import CLOCK_COLUMNS, CLOCK_RECORD, SNAPSHOT_RECORD
from api.sla import checks
from api.sla.replay import NOTIFY_EARLIEST

_RECORD = checks.prefixed("r")

# The one statement that takes every lock a batch needs, in id order, so that concurrent batches
# naming the same tickets queue instead of deadlocking. Each ticket's row is computed from the
# batch alone: a new ticket is inserted whole; for an existing one `DO UPDATE ... WHERE false`
# writes nothing but takes the row lock (which `DO NOTHING` would not). RETURNING names the new.
CLAIM = f"""
    INSERT INTO tickets (id, priority, customer_tier, status, created_at, updated_at, first_response_at,
                         received_at, config_version, {", ".join(CLOCK_COLUMNS)},
                         sla_state, breached_clocks, next_check_at)
    SELECT r.id, r.priority, r.customer_tier, r.status, r.created_at, r.updated_at, r.first_response_at,
           %(now)s, %(version)s, {", ".join(f"r.{column}" for column in CLOCK_COLUMNS)},
           {checks.state_sql(_RECORD, "%(now)s")}, {checks.breached_clocks_sql(_RECORD, "%(now)s")},
           {checks.next_check_sql(_RECORD, "0", "%(now)s")}
    FROM json_to_recordset(CAST(%(rows)s AS json)) AS r({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    ORDER BY r.id
    ON CONFLICT (id) DO UPDATE SET id = excluded.id WHERE false
    RETURNING id, next_check_at
"""

# Run after CLAIM, once every lock is held: the stored row of each ticket that existed, from which an
# in-order snapshot moves the clocks on without reading the ticket's history.
READ_STORED = f"""
    SELECT id, updated_at, created_at, priority, customer_tier, config_version, {", ".join(CLOCK_COLUMNS)}
    FROM tickets WHERE id = ANY(%(ids)s)
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

WRITE_CURRENT = f"""
    UPDATE tickets AS t SET
        priority = r.priority, customer_tier = r.customer_tier, status = r.status, created_at = r.created_at,
        updated_at = r.updated_at, first_response_at = r.first_response_at, received_at = %(now)s,
        config_version = %(version)s,
        {", ".join(f"{column} = r.{column}" for column in CLOCK_COLUMNS)},
        {checks.derived_assignments(_RECORD, "t.events_recorded", "%(now)s")}
    FROM json_to_recordset(CAST(%(rows)s AS json)) AS r({SNAPSHOT_RECORD}, {CLOCK_RECORD})
    WHERE t.id = r.id
    RETURNING t.next_check_at
"""

# History and current state in one statement, which also announces the earliest new deadline
# (of the tickets it rewrote and of those CLAIM created).
WRITE_BATCH = f"""
    WITH history AS ({WRITE_HISTORY} RETURNING 1),
         updated AS ({WRITE_CURRENT}),
         written AS (SELECT next_check_at FROM updated UNION ALL SELECT CAST(%(created_earliest)s AS timestamptz)),
         notified AS ({NOTIFY_EARLIEST})
    SELECT (SELECT count(*) FROM notified) AS notified
"""
