"""The delivery worker: sends due deliveries to their destinations, in every process, each attempt once.

Woken by the pass's NOTIFY (through the process's listener) and by the next retry coming due.
Each destination has its own HTTP client, connection limit and attempt slots, so a slow or dead
receiver uses up only its own slots: it never delays the other destinations, the evaluator or the
API. Outcomes are written in batches; claims and outcomes are each a short transaction.
"""

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import apprise
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.kit import clock, metrics
from api.notifications import messages, service
from api.notifications.messages import EventToSend
from api.notifications.outcomes import Attempt, Outcome, decide
from api.sla_config.notifications import Destination, redact_url
from api.sla_config.store import ConfigStore

logger = logging.getLogger(__name__)
# Apprise logs its failures with the destination URL, and destination URLs may carry credentials.
logging.getLogger("apprise").setLevel(logging.CRITICAL)

SLOTS_PER_DESTINATION = 64
# Claims are made in batches: a round starts once this many of a destination's slots are free.
CLAIM_BATCH = SLOTS_PER_DESTINATION // 4
# The set of destinations a receiver disabled is read again at least this often.
DISABLED_REFRESH_SECONDS = 2.0
# A claim lasts this much beyond the attempt's timeout: long enough to write the outcome.
CLAIM_MARGIN = timedelta(seconds=5)
IDLE_WAKE_SECONDS = 5.0


@dataclass
class _Channel:
    """One destination's client and the attempts it has under way."""

    destination: Destination
    client: aiohttp.ClientSession
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)


def _describe(error: BaseException, destination: Destination) -> str:
    """An error in words that never repeat the destination's URL (it may hold a token)."""
    text = str(error).replace(destination.url, redact_url(destination.url))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class DeliveryWorker:
    """Claims due deliveries destination by destination and sends them."""

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        store: ConfigStore,
        timeout_seconds: float,
        dashboard_url: str | None,
    ) -> None:
        self._pool = pool
        self._store = store
        self._timeout = timeout_seconds
        self._dashboard_url = dashboard_url
        self._wake = asyncio.Event()
        self._channels: dict[str, _Channel] = {}
        self._results: list[tuple[int, Outcome, int | None, str | None]] = []
        self._to_disable: dict[str, str] = {}
        self._rng = random.Random()  # noqa: S311 (jitter of retry waits, not a secret)
        self._task: asyncio.Task[None] | None = None
        self._disabled: set[str] = set()
        self._disabled_read_at = float("-inf")

    def wake(self, _payload: str = "") -> None:
        """Look for due deliveries now (and read again which destinations are disabled)."""
        self._disabled_read_at = float("-inf")
        self._wake.set()

    def start(self) -> None:
        """Start sending, on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sla-deliveries")

    async def stop(self) -> None:
        """Stop claiming; attempts under way are abandoned and their claims lapse."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for channel in self._channels.values():
            for task in channel.in_flight:
                task.cancel()
            await channel.client.close()

    async def _run(self) -> None:
        while True:
            try:
                self._wake.clear()
                claimed_all = await self._round()
                if not claimed_all:
                    await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away: try again shortly
                logger.exception("notification delivery round failed")
                await asyncio.sleep(1.0)

    async def _round(self) -> bool:
        """Write finished attempts, then claim as many due deliveries as there are free slots.

        True when some destination filled all its free slots, so that more may be waiting.
        """
        async with self._pool.connection() as connection:
            await self._flush(connection)
            if asyncio.get_running_loop().time() - self._disabled_read_at > DISABLED_REFRESH_SECONDS:
                self._disabled = await service.disabled(connection)
                self._disabled_read_at = asyncio.get_running_loop().time()
            filled = False
            for name, channel in self._current_channels().items():
                free = SLOTS_PER_DESTINATION - len(channel.in_flight)
                if name in self._disabled or free <= 0:
                    continue
                now = clock.utc_now()
                lease_until = now + timedelta(seconds=self._timeout) + CLAIM_MARGIN
                claimed = await service.claim(
                    connection, destination=name, limit=free, now=now, lease_until=lease_until
                )
                for item in claimed:
                    self._spawn(name, channel, item)
                filled = filled or len(claimed) == free
        return filled

    async def _sleep(self) -> None:
        """Wait for a wake-up, an attempt finishing, or the next retry coming due."""
        wait = IDLE_WAKE_SECONDS
        async with self._pool.connection() as connection:
            due = await service.next_due(connection, list(self._current_channels()))
        if due is not None:
            wait = min(wait, max((due - clock.utc_now()).total_seconds(), 0.0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=wait)

    def _current_channels(self) -> dict[str, _Channel]:
        """One channel per destination of the config in force, rebuilt when a destination changes."""
        wanted = self._store.active.config.notifications
        for name in list(self._channels):
            if name not in wanted or self._channels[name].destination != wanted[name]:
                old = self._channels.pop(name)
                asyncio.get_running_loop().create_task(old.client.close())
        for name, destination in wanted.items():
            if name not in self._channels:
                client = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=SLOTS_PER_DESTINATION),
                    timeout=aiohttp.ClientTimeout(total=self._timeout),
                )
                self._channels[name] = _Channel(destination=destination, client=client)
        return self._channels

    def _spawn(self, name: str, channel: _Channel, item: EventToSend) -> None:
        task = asyncio.get_running_loop().create_task(self._attempt(name, channel, item))
        channel.in_flight.add(task)
        task.add_done_callback(channel.in_flight.discard)

    async def _attempt(self, name: str, channel: _Channel, item: EventToSend) -> None:
        destination = channel.destination
        try:
            async with asyncio.timeout(self._timeout):
                attempt = await self._send(channel, item)
        except TimeoutError:
            attempt = Attempt(None, f"no answer within {self._timeout:g} s")
        except (aiohttp.ClientError, OSError) as error:
            attempt = Attempt(None, _describe(error, destination))
        now = clock.utc_now()
        outcome = decide(attempt, attempts=item.attempts, retries=destination.retries, now=now, rng=self._rng)
        self._results.append((item.delivery_id, outcome, attempt.status_code, attempt.error))
        if outcome.disable_destination:
            self._to_disable[name] = f"the receiver answered 410 Gone at {now.isoformat()}"
            self._disabled.add(name)
        result = "disabled" if outcome.disable_destination else {"pending": "retry"}.get(outcome.status, outcome.status)
        metrics.NOTIFICATION_DELIVERIES.labels(destination=name, result=result).inc()
        # Rounds go by batches of free slots: a round per finished attempt would cost a claim each.
        if SLOTS_PER_DESTINATION - len(channel.in_flight) + 1 >= CLAIM_BATCH or outcome.disable_destination:
            self._wake.set()

    async def _send(self, channel: _Channel, item: EventToSend) -> Attempt:
        destination = channel.destination
        now = clock.utc_now()
        if destination.format == "apprise":
            title, text = messages.apprise_message(item, now, self._dashboard_url)
            notifier = apprise.Apprise()
            notifier.add(destination.url)
            sent = await notifier.async_notify(title=title, body=text)
            return Attempt(200 if sent else None, None if sent else "the Apprise service refused or failed")
        if destination.format == "slack":
            body = messages.slack_body(item, now, self._dashboard_url)
            headers = {"content-type": "application/json"}
        else:
            body = messages.webhook_body(item)
            headers = messages.webhook_headers(item, body, destination.secret(), now)
        async with channel.client.post(destination.url, data=body, headers=headers, allow_redirects=False) as response:
            await response.read()
            error = None if 200 <= response.status < 300 else f"the receiver answered {response.status}"
            return Attempt(response.status, error, response.headers.get("retry-after"))

    async def _flush(self, connection: AsyncConnection[Any]) -> None:
        """Write the outcomes of finished attempts and disable the destinations that asked for it."""
        if self._results:
            results = list(self._results)
            await service.record(connection, results, clock.utc_now())
            del self._results[: len(results)]
        for name, reason in list(self._to_disable.items()):
            await service.disable(connection, name=name, reason=reason, now=clock.utc_now())
            logger.warning("notification destination %s disabled: %s", name, reason)
            del self._to_disable[name]
