"""Single-snapshot requests that arrive together share one CLAIM, as a database's group commit shares a flush.

A statement and its commit cost PostgreSQL about the same whether they carry one ticket or a few
(docs/design.md has the figures): one snapshot per request, the way support tools push, would
spend most of the database on that fixed part.

A request whose batch CLAIM can do whole (one ticket at one instant, on an always-open calendar)
joins a queue. One CLAIM at a time runs, committed as it ends, for the requests queued while the
last one ran, in the order they came: distinct tickets, one config version and one sender; a
request of another version or sender, or a snapshot of a ticket already taken or left for later,
waits for the next. CLAIM does each ticket whole or writes nothing for it, so each request stays
all or nothing on its own; one it did not finish (a repeat, a late or conflicting snapshot) is
answered None and applied in a transaction of its own. With nothing in flight a request goes at
once: the queue adds no wait when the service is quiet.

A row lock held elsewhere (a large batch, a config walk) would hold up every queued request, not
only those naming that ticket: the queue's connections wait at most `lock_timeout_ms` for a lock,
and a CLAIM that waited longer sends each of its requests on alone, where only those naming the
locked ticket wait. Any failure but an exhausted or closed pool does the same, so that a failure
stays the failure of its own request.
"""

import asyncio
import contextvars
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import psycopg
from psycopg_pool import PoolClosed, PoolTimeout

from api.kit import clock, database, metrics
from api.kit.steps import run_steps_async
from api.sla_config.store import ActiveConfig
from api.tickets.ingestion import IngestReport, claim_steps, claimed_report
from api.tickets.schemas import SnapshotIn

logger = logging.getLogger(__name__)

# Snapshots a group gathers at most; a single request with more goes in a group of its own.
MAX_GROUP_SNAPSHOTS: Final = 1_000
LOCK_TIMEOUT_MS: Final = 100


@dataclass(slots=True)
class _Waiting:
    """A request in the queue and the answer it waits for."""

    snapshots: Sequence[SnapshotIn]
    active: ActiveConfig
    source: str | None
    answer: "asyncio.Future[IngestReport | None]"

    @property
    def ticket_id(self) -> str:
        return self.snapshots[0].id

    def joins(self, first: "_Waiting", size: int) -> bool:
        """Whether this request may share the CLAIM of the group `first` opened, `size` snapshots so far."""
        return (
            self.active.version == first.active.version
            and self.source == first.source
            and size + len(self.snapshots) <= MAX_GROUP_SNAPSHOTS
        )


class ClaimQueue:
    """The queue of one process, drained by one CLAIM at a time on connections of its own."""

    def __init__(self, url: str, *, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> None:
        self._pool = database.make_async_pool(
            url, max_size=1, outside_transactions=True, lock_timeout_ms=lock_timeout_ms
        )
        self._waiting: list[_Waiting] = []
        self._draining: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Open the queue's connections."""
        await self._pool.open()

    async def close(self) -> None:
        """Let the CLAIM in flight finish, then close the connections."""
        if self._draining is not None:
            await asyncio.wait([self._draining])
        await self._pool.close()

    async def claim(
        self, snapshots: Sequence[SnapshotIn], active: ActiveConfig, source: str | None
    ) -> IngestReport | None:
        """The report of a batch CLAIM did whole, with the requests that came meanwhile; None if it did not."""
        answer: asyncio.Future[IngestReport | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(snapshots, active, source, answer))
        if self._draining is None:
            # A context of its own: what it logs belongs to no one request.
            self._draining = asyncio.create_task(self._drain(), name="sla-claim-queue", context=contextvars.Context())
        return await answer

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await self._run(self._next_group())
        finally:
            self._draining = None
            waiting, self._waiting = self._waiting, []
            for left in waiting:  # only if the drain itself was cancelled
                _fail(left, RuntimeError("the claim queue stopped before this request's turn"))

    def _next_group(self) -> list[_Waiting]:
        """The requests of the next CLAIM, in the order they came; the others stay queued."""
        # A request that went away is not written.
        live = [waiting for waiting in self._waiting if not waiting.answer.done()]
        group: list[_Waiting] = []
        left: list[_Waiting] = []
        taken: set[str] = set()  # tickets in the group or left for a later one, so that their order holds
        size = 0
        for waiting in live:
            if waiting.ticket_id not in taken and (not group or waiting.joins(group[0], size)):
                group.append(waiting)
                size += len(waiting.snapshots)
            else:
                left.append(waiting)
            taken.add(waiting.ticket_id)
        self._waiting = left
        return group

    async def _run(self, group: list[_Waiting]) -> None:
        """One CLAIM for the group, each request answered with its own report (or None: on its own)."""
        if not group:
            return
        try:
            metrics.SNAPSHOT_GROUP_REQUESTS.observe(len(group))
            done = await self._claim(group)
            for waiting in group:
                if not waiting.answer.done():
                    waiting.answer.set_result(claimed_report(waiting.snapshots, done))
        except BaseException as error:
            for waiting in group:
                _fail(waiting, error if isinstance(error, Exception) else RuntimeError("the claim queue stopped"))
            if not isinstance(error, Exception):
                raise

    async def _claim(self, group: list[_Waiting]) -> dict[str, bool]:
        """The tickets the group's CLAIM did whole; none when its requests are to run on their own."""
        first = group[0]
        snapshots = [snapshot for waiting in group for snapshot in waiting.snapshots]
        try:
            async with self._pool.connection() as connection:
                steps = claim_steps(snapshots, first.active, clock.utc_now(), first.source)
                done: dict[str, bool] = await run_steps_async(connection, steps)
                return done
        except (PoolTimeout, PoolClosed):
            raise  # no connection now: the requests' own tries would wait as long again
        except psycopg.errors.LockNotAvailable:
            return {}
        except Exception:
            logger.warning("a CLAIM shared by %d requests failed; each runs on its own", len(group), exc_info=True)
            return {}


def _fail(waiting: _Waiting, error: Exception) -> None:
    if not waiting.answer.done():
        # The pool's errors go to every request of a group, each as an instance of its own: one
        # object raised in many tasks would gather all their tracebacks.
        waiting.answer.set_exception(type(error)(*error.args) if isinstance(error, PoolTimeout | PoolClosed) else error)
