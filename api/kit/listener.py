"""One LISTEN connection per process: PostgreSQL notifications handed to in-process subscribers.

Subscribers are plain callbacks run on the event loop; they must not block. After the connection
was lost and is back, every subscriber is called with an empty payload, since notifications sent
meanwhile are gone and each must look for itself what it missed.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0


class Listener:
    """LISTENs on the channels that have subscribers and dispatches their payloads."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._subscribers: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for every notification on `channel`; subscribe before `start`."""
        self._subscribers[channel].append(callback)

    def start(self) -> None:
        """Start listening, on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sla-listener")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _dispatch(self, channel: str, payload: str) -> None:
        for callback in self._subscribers.get(channel, ()):
            try:
                callback(payload)
            except Exception:  # one subscriber's failure must not silence the others
                logger.exception("a %s subscriber failed", channel)

    async def _run(self) -> None:
        connected_before = False
        while True:
            try:
                connection: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
                    self._database_url, autocommit=True
                )
                async with connection:
                    for channel in self._subscribers:
                        await connection.execute(f'LISTEN "{channel}"')
                    if connected_before:
                        for channel in self._subscribers:
                            self._dispatch(channel, "")
                    connected_before = True
                    async for notification in connection.notifies():
                        self._dispatch(notification.channel, notification.payload)
            except psycopg.Error as exc:
                logger.warning("lost the LISTEN connection (%s); reconnecting", exc)
            await asyncio.sleep(RECONNECT_SECONDS)
