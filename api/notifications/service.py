"""The outbox's SQL: claim due deliveries, record how attempts ended, and the reads and repairs of the API.

A claim moves a delivery's `next_attempt_at` past the attempt's timeout, in the same statement
that picks it with SKIP LOCKED, and commits at once: no transaction stays open across the HTTP
call, no other process attempts it meanwhile, and if this process dies the claim lapses and
another process tries again.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from api.notifications.messages import EventToSend
from api.notifications.outcomes import Outcome

CLAIM = """
    WITH claimed AS (
        UPDATE notification_deliveries AS d
        SET attempts = d.attempts + 1, last_attempt_at = %(now)s, next_attempt_at = %(lease_until)s
        WHERE d.id IN (
            SELECT id FROM notification_deliveries
            WHERE status = 'pending' AND destination = %(destination)s AND next_attempt_at <= %(now)s
            ORDER BY next_attempt_at, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        )
        RETURNING d.id, d.event_id, d.attempts
    )
    SELECT c.id AS delivery_id, c.attempts, e.id AS event_id, e.ticket_id, e.clock, e.kind, e.due_at,
           e.detected_at, e.target_seconds, e.priority, e.customer_tier, e.config_version,
           t.status AS ticket_status,
           CASE e.clock WHEN 'response' THEN t.response_due_at ELSE t.resolution_due_at END AS breach_at
    FROM claimed AS c
    JOIN sla_events AS e ON e.id = c.event_id
    JOIN tickets AS t ON t.id = e.ticket_id
    ORDER BY c.id
"""

RECORD = """
    UPDATE notification_deliveries AS d
    SET status = r.status, next_attempt_at = r.next_attempt_at, last_status_code = r.status_code,
        last_error = r.error, delivered_at = CASE WHEN r.status = 'delivered' THEN r.at END
    FROM json_to_recordset(CAST(%(results)s AS json))
         AS r (id bigint, status text, next_attempt_at timestamptz, status_code int, error text, at timestamptz)
    WHERE d.id = r.id
"""

DISABLE = """
    INSERT INTO notification_destinations (name, state, changed_at, reason)
    VALUES (%(name)s, 'disabled', %(now)s, %(reason)s)
    ON CONFLICT (name) DO UPDATE SET state = 'disabled', changed_at = excluded.changed_at, reason = excluded.reason
"""

ENABLE = """
    INSERT INTO notification_destinations (name, state, changed_at, reason)
    VALUES (%(name)s, 'active', %(now)s, NULL)
    ON CONFLICT (name) DO UPDATE SET state = 'active', changed_at = excluded.changed_at, reason = NULL
"""

DISABLED = "SELECT name FROM notification_destinations WHERE state = 'disabled'"

NEXT_DUE = """
    SELECT min(next_attempt_at) FROM notification_deliveries
    WHERE status = 'pending' AND destination = ANY(%(destinations)s)
"""


async def claim(
    connection: AsyncConnection[Any], *, destination: str, limit: int, now: datetime, lease_until: datetime
) -> list[EventToSend]:
    """Claim up to `limit` due deliveries of one destination, with their events; commits."""
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(
            CLAIM, {"destination": destination, "limit": limit, "now": now, "lease_until": lease_until}
        )
        rows = await cursor.fetchall()
    await connection.commit()
    return [EventToSend(**row) for row in rows]


async def record(
    connection: AsyncConnection[Any], results: Sequence[tuple[int, Outcome, int | None, str | None]], now: datetime
) -> None:
    """Write how attempts ended: (delivery id, outcome, status code, error); commits."""
    document = [
        {
            "id": delivery_id,
            "status": outcome.status,
            "next_attempt_at": outcome.next_attempt_at.isoformat(),
            "status_code": status_code,
            "error": error,
            "at": now.isoformat(),
        }
        for delivery_id, outcome, status_code, error in results
    ]
    await connection.execute(RECORD, {"results": orjson.dumps(document).decode()})
    await connection.commit()


async def disable(connection: AsyncConnection[Any], *, name: str, reason: str, now: datetime) -> None:
    """Mark a destination disabled; its deliveries wait until it is enabled again. Commits."""
    await connection.execute(DISABLE, {"name": name, "reason": reason, "now": now})
    await connection.commit()


async def disabled(connection: AsyncConnection[Any]) -> set[str]:
    """Names of the destinations a receiver disabled."""
    cursor = await connection.execute(DISABLED)
    names = {row[0] for row in await cursor.fetchall()}
    await connection.commit()
    return names


async def next_due(connection: AsyncConnection[Any], destinations: Sequence[str]) -> datetime | None:
    """When the earliest pending delivery of these destinations may next be attempted."""
    cursor = await connection.execute(NEXT_DUE, {"destinations": list(destinations)})
    row = await cursor.fetchone()
    await connection.commit()
    return row[0] if row else None
