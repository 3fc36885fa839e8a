"""Who may call what: the one dependency every route passes, with the keys it knows kept for a second.

Every endpoint needs a key but those named in `PUBLIC_PATHS`: a route added later is protected
unless it is named there. `GET`s and the streams need `read`, `POST /tickets` needs
`tickets:write`, anything else `admin`, which implies the others. A key comes as
`Authorization: Bearer <key>`, as `X-API-Key: <key>`, or, for the streams only (a browser's
`EventSource` cannot set headers), as `?access_token=<key>`.

A key looked up in the database is kept in memory for a second, so a revocation reaches every
process within one (a NOTIFY makes it at once), and the database is asked at most once a second
per key. When a key was last used is written every `LAST_USED_FLUSH_SECONDS`, not per request.
"""

import asyncio
import contextlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from fastapi import WebSocketException
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from starlette.requests import HTTPConnection

from api.keys.service import Scope, key_hash
from api.kit import clock
from api.kit.edge import NO_KEY
from api.kit.errors import ApiError

logger = logging.getLogger(__name__)

# The API's own documents (/docs, /openapi.json) are served outside the routers, so never asked for a key.
PUBLIC_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})
STREAM_PATHS: Final = frozenset({"/events/stream", "/events/ws"})
KEPT_SECONDS: Final = 1.0
MAX_KEPT: Final = 10_000
LAST_USED_FLUSH_SECONDS: Final = 30.0

LOOKUP = "SELECT id, name, scopes, expires_at, revoked_at FROM api_keys WHERE key_hash = %(hash)s"
TOUCH = """
    UPDATE api_keys AS k SET last_used_at = u.at
    FROM json_to_recordset(CAST(%(used)s AS json)) AS u (id bigint, at timestamptz)
    WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)
"""


class Unauthorized(ApiError):
    """No key, or one this service does not know, or one revoked or expired."""

    status_code = 401
    error = "unauthorized"
    headers = {"www-authenticate": "Bearer"}


class Forbidden(ApiError):
    """The key lacks the scope the request needs."""

    status_code = 403
    error = "forbidden"


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever a key belongs to: its name (each stored snapshot's source) and scopes."""

    name: str
    scopes: frozenset[str]
    key_id: int | None = None

    def allows(self, scope: Scope) -> bool:
        """Whether this principal may do what `scope` covers."""
        return "admin" in self.scopes or scope in self.scopes


ANONYMOUS: Final = Principal(name="anonymous", scopes=frozenset({"admin"}))


def required_scope(method: str, path: str) -> Scope:
    """The scope a request needs."""
    if method in {"GET", "HEAD", "WEBSOCKET"}:
        return "read"
    if (method, path) == ("POST", "/tickets"):
        return "tickets:write"
    return "admin"


def presented_key(connection: HTTPConnection, path: str) -> str | None:
    """The key a request presents, if any."""
    authorization = connection.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    header = connection.headers.get("x-api-key", "").strip()
    if header:
        return header
    if path in STREAM_PATHS:
        return connection.query_params.get("access_token") or None
    return None


class Access:
    """The keys of this process: those from the environment, and those of the database, kept a second."""

    def __init__(
        self,
        *,
        enabled: bool,
        secret: bytes,
        environment_keys: dict[str, Principal],
        pool: AsyncConnectionPool[AsyncConnection[Any]] | None,
    ) -> None:
        self.enabled = enabled
        self._secret = secret
        self._environment = {key_hash(secret, key): principal for key, principal in environment_keys.items()}
        self._pool = pool
        self._kept: dict[bytes, tuple[float, Principal | None, datetime | None]] = {}
        self._used: dict[int, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def forget(self, _payload: str = "") -> None:
        """Drop every key kept in memory (one was revoked)."""
        self._kept.clear()

    async def identify(self, key: str) -> Principal | None:
        """The principal of a key, or None if it is unknown, revoked or expired."""
        hashed = key_hash(self._secret, key)
        for known, environment_principal in self._environment.items():
            if hmac.compare_digest(known, hashed):
                return environment_principal
        now = clock.utc_now()
        kept = self._kept.get(hashed)
        if kept is None or time.monotonic() - kept[0] > KEPT_SECONDS:
            kept = (time.monotonic(), *await self._lookup(hashed))
            self._keep(hashed, kept)
        _, principal, expires_at = kept
        if principal is None or (expires_at is not None and expires_at <= now):
            return None
        if principal.key_id is not None:
            self._used[principal.key_id] = now
        return principal

    def _keep(self, hashed: bytes, kept: tuple[float, Principal | None, datetime | None]) -> None:
        """Keep a lookup for a second; unknown keys are kept too, so the store stays bounded."""
        if len(self._kept) >= MAX_KEPT:
            # Someone is sending many keys this service does not know: let go of what has expired.
            oldest = time.monotonic() - KEPT_SECONDS
            self._kept = {key: value for key, value in self._kept.items() if value[0] >= oldest}
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
        self._kept[hashed] = kept

    async def _lookup(self, hashed: bytes) -> tuple[Principal | None, datetime | None]:
        assert self._pool is not None
        async with self._pool.connection() as connection:
            cursor = await connection.execute(LOOKUP, {"hash": hashed})
            row = await cursor.fetchone()
        if row is None or row[4] is not None:
            return None, None
        return Principal(name=row[1], scopes=frozenset(row[2]), key_id=row[0]), row[3]

    def start(self) -> None:
        """Start writing when keys were last used."""
        if self._pool is not None and self.enabled:
            self._task = asyncio.get_running_loop().create_task(self._flush_forever(), name="sla-key-use")

    async def stop(self) -> None:
        """Write the last uses and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        """Write when each key was last used."""
        if not self._used or self._pool is None:
            return
        used, self._used = self._used, {}
        document = [{"id": key_id, "at": at.isoformat()} for key_id, at in used.items()]
        async with self._pool.connection() as connection:
            await connection.execute(TOUCH, {"used": orjson.dumps(document).decode()})

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(LAST_USED_FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:  # the next flush tries again; the times are only kept a minute stale
                logger.warning("could not record when API keys were last used", exc_info=True)


async def authorize(connection: HTTPConnection) -> None:
    """Let the request through if its key has the scope it needs; 401 or 403 otherwise."""
    access: Access = connection.app.state.access
    route = connection.scope.get("route")
    path = getattr(route, "path", connection.url.path)
    websocket = connection.scope["type"] == "websocket"
    if not access.enabled or path in PUBLIC_PATHS:
        connection.state.principal = ANONYMOUS
        return
    key = presented_key(connection, path)
    principal = await access.identify(key) if key else None
    scope = required_scope("WEBSOCKET" if websocket else connection.scope["method"], path)
    refusal: ApiError | None = None
    if principal is None:
        refusal = Unauthorized(NO_KEY)
    elif not principal.allows(scope):
        refusal = Forbidden(f"the key {principal.name!r} lacks the {scope} scope")
    if refusal is None:
        connection.state.principal = principal
        return
    # A WebSocket handshake is refused with the same HTTP answer when the server can send one.
    if websocket and "websocket.http.response" not in connection.scope.get("extensions", {}):
        raise WebSocketException(code=1008, reason=f"{refusal.error}: {refusal.message}")
    raise refusal
