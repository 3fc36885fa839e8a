"""A fast webhook receiver for the benchmarks: `uvicorn bench.receiver_app:app`.

POSTs to `/fast` are answered 200 at once and their arrival is noted (webhook-id, wall-clock time);
POSTs to `/hang` are never answered. `GET /arrivals` returns what was noted.
"""

import asyncio
import time
from typing import Any

import orjson

ARRIVALS: list[tuple[str, float]] = []


async def _drain(receive: Any) -> None:
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI application."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if scope["method"] == "GET" and path == "/arrivals":
        body = orjson.dumps(ARRIVALS)
    elif path == "/hang":
        await _drain(receive)
        await asyncio.sleep(3600)
        return
    else:
        arrived = time.time()
        await _drain(receive)
        webhook_id = dict(scope["headers"]).get(b"webhook-id", b"").decode()
        ARRIVALS.append((webhook_id, arrived))
        body = b"ok"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
    )
    await send({"type": "http.response.body", "body": body})
