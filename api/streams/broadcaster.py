"""Fan-out of new SLA events to every stream client of this process.

The process's one LISTEN connection hears each pass announce its newest event id; the broadcaster
then reads the new events once, keeps the most recent ones in memory, and wakes the clients. A
client that is behind what memory holds (a resume from an old id, a slow reader) reads from the
event log instead. Events commit in the order of their ids (see `api/sla/passes.py`), so "every
event after id n" misses nothing that commits later.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api.kit.timestamps import rfc3339

logger = logging.getLogger(__name__)

KEPT_IN_MEMORY = 10_000
PAGE = 500

EVENTS_AFTER = """
    SELECT id, ticket_id, clock, kind, due_at, detected_at, target_seconds, priority, customer_tier, config_version
    FROM sla_events WHERE id > %(after)s ORDER BY id LIMIT %(limit)s
"""
NEWEST = "SELECT coalesce(max(id), 0) FROM sla_events"


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """The filters of GET /alerts that a stream takes; an empty tuple matches everything."""

    kind: tuple[str, ...] = ()
    clock: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    customer_tier: tuple[str, ...] = ()

    def matches(self, event: dict[str, Any]) -> bool:
        """Whether the event passes every filter."""
        return all(
            not allowed or event[name] in allowed
            for name, allowed in (
                ("kind", self.kind),
                ("clock", self.clock),
                ("priority", self.priority),
                ("customer_tier", self.customer_tier),
            )
        )


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "due_at": rfc3339(row["due_at"]), "detected_at": rfc3339(row["detected_at"])}


class Broadcaster:
    """Keeps the newest events in memory and lets clients wait for the next ones."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        self._pool = pool
        self._recent: deque[dict[str, Any]] = deque(maxlen=KEPT_IN_MEMORY)
        self._newest = 0
        self._changed = asyncio.Condition()
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_events: list[Callable[[list[dict[str, Any]]], None]] = []

    @property
    def newest(self) -> int:
        """The id of the newest event this process has read."""
        return self._newest

    async def start(self) -> None:
        """Begin at the newest event recorded so far."""
        async with self._pool.connection() as connection:
            cursor = await connection.execute(NEWEST)
            row = await cursor.fetchone()
        self._newest = int(row[0]) if row else 0
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sla-broadcaster")

    async def stop(self) -> None:
        """Stop reading new events."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def announce(self, payload: str) -> None:
        """A pass recorded events up to the id in `payload` (empty: look anyway)."""
        if not payload or not payload.isdigit() or int(payload) > self._newest:
            self._poke.set()

    async def _run(self) -> None:
        while True:
            await self._poke.wait()
            self._poke.clear()
            try:
                await self._read_new()
            except Exception:  # the database may be away; the next announcement tries again
                logger.exception("reading new SLA events for the streams failed")
                await asyncio.sleep(1.0)
                self._poke.set()

    async def _read_new(self) -> None:
        while True:
            rows = await self._read(self._newest, PAGE)
            if not rows:
                return
            events = [_public(row) for row in rows]
            self._recent.extend(events)
            self._newest = events[-1]["id"]
            for listener in self.on_events:
                listener(events)
            async with self._changed:
                self._changed.notify_all()
            if len(rows) < PAGE:
                return

    async def _read(self, after: int, limit: int) -> list[dict[str, Any]]:
        async with self._pool.connection() as connection, connection.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(EVENTS_AFTER, {"after": after, "limit": limit})
            return await cursor.fetchall()

    async def after(self, last: int, wanted: StreamFilter) -> tuple[list[dict[str, Any]], int]:
        """Events after id `last` that pass the filter, and the id to continue after (up to what is read)."""
        if (self._recent and self._recent[0]["id"] <= last + 1) or (not self._recent and last >= self._newest):
            events = [event for event in self._recent if event["id"] > last]
            return [event for event in events if wanted.matches(event)], max(last, self._newest)
        rows = [_public(row) for row in await self._read(last, PAGE)]
        if not rows:
            return [], last
        return [event for event in rows if wanted.matches(event)], rows[-1]["id"]

    async def wait_beyond(self, last: int, timeout: float) -> None:
        """Return once an event newer than `last` was read, or after `timeout` seconds."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self._newest > last), timeout)
