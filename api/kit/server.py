"""The HTTP protocol the service runs with: uvicorn's, closing connections that never send a request head.

A client that opens connections and sends nothing (or a request head a byte at a time) would
otherwise hold a file descriptor for ever; this one gets `SLA_REQUEST_HEAD_TIMEOUT_SECONDS` (30 by
default) from connecting to finishing its head. Idle keep-alive connections are uvicorn's own
business (`--timeout-keep-alive`, 5 s by default).
"""

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_TIMEOUT_SECONDS = float(os.environ.get("SLA_REQUEST_HEAD_TIMEOUT_SECONDS", "30"))


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a deadline for the request head of each new connection."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock on the request head."""
        super().connection_made(transport)
        self._head_deadline = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._close_silent)

    def on_headers_complete(self) -> None:
        """The head arrived in time."""
        self._cancel_head_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline of a connection that is gone."""
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _close_silent(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
