"""Single-snapshot requests that arrive together share one CLAIM, as a database's group commit shares a flush.

A statement and its commit cost PostgreSQL about the same whether they carry one ticket or a
few: measured on 2 cores, CLAIM on its own took 1.6 ms of its backend for one ticket, 0.46 ms a
ticket for four and 0.26 ms for eight. One snapshot per request, the way support tools push, would
spend most of the database on that fixed part.

A request whose batch CLAIM can do whole (one ticket at one instant, on an always-open calendar)
joins a queue. One CLAIM at a time runs, committed as it ends, with every request queued while
the last one ran: distinct tickets, one config version and one source (a later snapshot of a
ticket already in the group waits for the next). CLAIM does each ticket whole or writes nothing
for it, so each request stays all or nothing on its own; one it did not finish (a repeat, a late
or conflicting snapshot) is answered None and applied in a transaction of its own. With nothing
in flight a request goes at once: the queue adds no wait when the service is quiet.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg_pool import AsyncConnectionPool

from api.kit import clock, metrics
from api.sla_config.store import ActiveConfig
from api.tickets import service
from api.tickets.ingestion import IngestReport, claimed_report
from api.tickets.schemas import SnapshotIn

logger = logging.getLogger(__name__)

# A group's snapshots, at most: CLAIM's parameters stay well inside a request body's size.
MAX_GROUP_SNAPSHOTS: Final = 1_000


@dataclass(slots=True)
class _Waiting:
    """A request in the queue and the answer it waits for."""

    snapshots: Sequence[SnapshotIn]
    active: ActiveConfig
    source: str | None
    answer: "asyncio.Future[IngestReport | None]"

    def joins(self, first: "_Waiting", tickets: set[str], size: int) -> bool:
        """Whether this request may share the CLAIM of the group that `first` opened."""
        return (
            self.active.version == first.active.version
            and self.source == first.source
            and self.snapshots[0].id not in tickets
            and size + len(self.snapshots) <= MAX_GROUP_SNAPSHOTS
        )


class ClaimQueue:
    """The queue of one process, drained by one CLAIM at a time on a connection of `pool`."""

    def __init__(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]]) -> None:
        self._pool = pool
        self._waiting: list[_Waiting] = []
        self._draining: asyncio.Task[None] | None = None

    async def claim(
        self, snapshots: Sequence[SnapshotIn], active: ActiveConfig, source: str | None
    ) -> IngestReport | None:
        """The report of a batch CLAIM did whole, with the requests that came meanwhile; None if it did not."""
        answer: asyncio.Future[IngestReport | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(snapshots, active, source, answer))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain(), name="sla-claim-queue")
        return await answer

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await self._run(self._next_group())
        finally:
            self._draining = None
            for waiting in self._waiting:  # only when the loop is shutting down
                waiting.answer.cancel()

    def _next_group(self) -> list[_Waiting]:
        """The requests of the next CLAIM, in the order they came; the others stay queued."""
        first = self._waiting[0]
        group: list[_Waiting] = []
        left: list[_Waiting] = []
        tickets: set[str] = set()
        size = 0
        for waiting in self._waiting:
            if not group or waiting.joins(first, tickets, size):
                group.append(waiting)
                tickets.add(waiting.snapshots[0].id)
                size += len(waiting.snapshots)
            else:
                left.append(waiting)
        self._waiting = left
        return group

    async def _run(self, group: list[_Waiting]) -> None:
        """One CLAIM for the group, each request answered with its own report (or None)."""
        first = group[0]
        metrics.SNAPSHOT_GROUP_REQUESTS.observe(len(group))
        try:
            try:
                async with self._pool.connection() as connection:
                    done = await service.claim_alone(
                        connection,
                        [snapshot for waiting in group for snapshot in waiting.snapshots],
                        first.active,
                        clock.utc_now(),
                        first.source,
                    )
            except psycopg.OperationalError as unreachable:
                for waiting in group:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(unreachable)
                return
            except Exception:
                # Each request tries again on its own, so that whatever failed stays the failure of its own request.
                logger.warning("a shared CLAIM of %d requests failed; each runs on its own", len(group), exc_info=True)
                done = {}
            for waiting in group:
                if not waiting.answer.done():
                    waiting.answer.set_result(claimed_report(waiting.snapshots, done))
        finally:
            for waiting in group:
                waiting.answer.cancel()  # does nothing to an answered request: only a cancelled drain leaves any
