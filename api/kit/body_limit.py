"""Refuse request bodies over the size limit with a 413 in the one error shape."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.kit.errors import error_response


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Answer 413 to a request body over the limit, whether announced or streamed.

    Starlette's own body limit answers in plain text; this one keeps the API's error shape.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "payload_too_large", f"the body is over {self.max_bytes:,} bytes")
        await response(scope, receive, send)
