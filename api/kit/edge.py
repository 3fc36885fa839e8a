"""What every request meets before any route: an id, clean paths and queries, and a bounded, readable body.

In order: the request gets an id (its `X-Request-ID`, or a new one, sent back in the answer); a
path with control characters is a 404 and a query parameter with them a 422, before anything
reaches the database; a body must be JSON (YAML for the config preview), plain or gzipped, and
at most `max_body_bytes` once decompressed, and is not read at all when access control is on and
the request brings no key; and all bodies being read at once share a memory budget, past which a
request is answered 503 with `Retry-After` instead of growing the process.
"""

import contextvars
import re
import uuid
import zlib
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.kit.errors import error_response, problem

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_CLEAN_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
YAML_TYPES: Final = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})
YAML_PATHS: Final = frozenset({"/config/preview"})
RETRY_AFTER_SECONDS: Final = 2
NO_KEY: Final = "send an API key: Authorization: Bearer <key>, or X-API-Key: <key>"


class _Refused(Exception):
    """The request is answered at the edge."""

    def __init__(self, status: int, error: str, detail: object, headers: dict[str, str] | None = None) -> None:
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


class MemoryBudget:
    """Bytes of request bodies held at once by this process, and the most it may hold."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, amount: int) -> None:
        """Hold `amount` more bytes, or refuse the request if that would pass the budget."""
        if self.held + amount > self.limit:
            raise _Refused(
                503,
                "service_unavailable",
                "too many large request bodies at once; retry shortly",
                {"retry-after": str(RETRY_AFTER_SECONDS)},
            )
        self.held += amount


def _media_type(headers: dict[bytes, bytes]) -> str:
    return headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()


def _check_query(query_string: bytes) -> None:
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if _CONTROL.search(name) or _CONTROL.search(value):
            raise _Refused(
                422,
                "validation_error",
                [problem(["query", name], "must not contain control characters", "control_characters")],
            )


def _check_content_type(path: str, headers: dict[bytes, bytes]) -> None:
    media_type = _media_type(headers)
    wanted = YAML_TYPES if path in YAML_PATHS else frozenset({"application/json"})
    if media_type not in wanted:
        expected = "application/yaml" if path in YAML_PATHS else "application/json"
        raise _Refused(415, "unsupported_media_type", f"send the body as {expected}, not {media_type or 'untyped'}")


class RequestEdge:
    """The ASGI middleware described in the module docstring."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, memory_budget_bytes: int, bodies_need_a_key: bool = False
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.budget = MemoryBudget(memory_budget_bytes)
        self.bodies_need_a_key = bodies_need_a_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _CLEAN_REQUEST_ID.match(given) else uuid.uuid4().hex
        REQUEST_ID.set(request_id)
        held = 0
        try:
            if _CONTROL.search(unquote(scope["path"])):
                raise _Refused(404, "not_found", "no such resource")
            _check_query(scope.get("query_string", b""))
            if scope["type"] == "http" and scope["method"] in BODY_METHODS:
                # No body is read, decompressed or held for a request that brings no key at all.
                if self.bodies_need_a_key and not (headers.get(b"authorization") or headers.get(b"x-api-key")):
                    raise _Refused(401, "unauthorized", NO_KEY, {"www-authenticate": "Bearer"})
                body, held, inflated = await self._read_body(scope, headers, receive)
                receive = _replay(body)
                # The scope is passed on as it came unless the body was inflated: what the router
                # adds to it (the route) is then seen by the middleware outside this one (metrics).
                if inflated:
                    scope = _without_encoding(scope, len(body))
        except _Refused as refused:
            self.budget.held -= held
            if scope["type"] == "http":
                await _answer(refused, request_id, scope, receive, send)
            return
        try:
            await self.app(scope, receive, _with_request_id(send, request_id))
        finally:
            self.budget.held -= held

    async def _read_body(self, scope: Scope, headers: dict[bytes, bytes], receive: Receive) -> tuple[bytes, int, bool]:
        """The whole body, decompressed and within the limits, the budget it holds, and whether it was gzipped."""
        encoding = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        if encoding not in {"identity", "gzip"}:
            raise _Refused(415, "unsupported_media_type", f"content-encoding {encoding} is not accepted; use gzip")
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_body_bytes:
                raise _Refused(413, "payload_too_large", f"the body is over {self.max_body_bytes:,} bytes")
            if int(declared) > 0:
                _check_content_type(scope["path"], headers)
        held = 0
        chunks: list[bytes] = []
        inflater = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
        size = 0
        try:
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Refused(400, "bad_request", "the client went away")
                raw = message.get("body", b"")
                more = message.get("more_body", False)
                chunk = _inflate(inflater, raw, self.max_body_bytes - size) if inflater else raw
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise _Refused(413, "payload_too_large", f"the body is over {self.max_body_bytes:,} bytes")
                self.budget.take(len(chunk))
                held += len(chunk)
                chunks.append(chunk)
            if size:
                _check_content_type(scope["path"], headers)
        except _Refused:
            self.budget.held -= held
            raise
        return b"".join(chunks), held, inflater is not None


def _inflate(inflater: "zlib._Decompress", raw: bytes, room: int) -> bytes:
    try:
        return inflater.decompress(raw, max(room, 0) + 1)
    except zlib.error:
        raise _Refused(400, "bad_request", "the body is not valid gzip") from None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _without_encoding(scope: Scope, length: int) -> Scope:
    kept: Iterable[tuple[bytes, bytes]] = (
        (name, value) for name, value in scope["headers"] if name not in {b"content-encoding", b"content-length"}
    )
    return {**scope, "headers": [*kept, (b"content-length", str(length).encode())]}


def _with_request_id(send: Send, request_id: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
        await send(message)

    return sending


async def _answer(refused: _Refused, request_id: str, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(refused.status, refused.error, refused.detail)
    response.headers.update({**refused.headers, "x-request-id": request_id})
    await response(scope, receive, send)
