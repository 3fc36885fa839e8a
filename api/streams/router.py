"""GET /events/stream (Server-Sent Events) and GET /events/ws (WebSocket): SLA events as they are recorded.

A client resumes with `Last-Event-ID` (or `?after=`): it first gets every event it missed, in
order, then the live ones; none missed, none twice.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.kit.errors import InvalidInput
from api.sla_config.filters import check_segments
from api.streams.broadcaster import Broadcaster, StreamFilter

router = APIRouter(tags=["streams"])

KEEPALIVE_SECONDS = 15
MAX_EVENT_ID = 2**63 - 1


def _broadcaster(request: Request | WebSocket) -> Broadcaster:
    broadcaster: Broadcaster = request.app.state.broadcaster
    return broadcaster


async def _events(broadcaster: Broadcaster, start: int, wanted: StreamFilter) -> AsyncIterator[dict[str, Any]]:
    """Every event after `start` that passes the filter: first those missed, then live ones, forever."""
    last = start
    while True:
        batch, last = await broadcaster.after(last, wanted)
        for event in batch:
            yield event
        if not batch and last >= broadcaster.newest:
            await broadcaster.wait_beyond(last, timeout=KEEPALIVE_SECONDS)


def _start(broadcaster: Broadcaster, after: int | None, last_event_id: str | None) -> int:
    if after is not None:
        return after
    if last_event_id is not None and last_event_id.strip().isdigit():
        return min(int(last_event_id.strip()), MAX_EVENT_ID)
    return broadcaster.newest


Kind = Annotated[list[Literal["alert", "breach"]] | None, Query()]
Clock = Annotated[list[Literal["response", "resolution"]] | None, Query()]
Segment = Annotated[list[str] | None, Query()]
After = Annotated[int | None, Query(ge=0, le=MAX_EVENT_ID, description="resume after this event id")]


def _filter(kind: Any, clock: Any, priority: Any, customer_tier: Any) -> StreamFilter:
    return StreamFilter(
        kind=tuple(kind or ()),
        clock=tuple(clock or ()),
        priority=tuple(priority or ()),
        customer_tier=tuple(customer_tier or ()),
    )


@router.get(
    "/events/stream",
    summary="SLA events as Server-Sent Events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`id`, `event` and `data` per event"}},
)
async def event_stream(
    request: Request,
    kind: Kind = None,
    clock: Clock = None,
    priority: Segment = None,
    customer_tier: Segment = None,
    after: After = None,
    last_event_id: Annotated[str | None, Header(description="the id of the last event received")] = None,
) -> EventSourceResponse:
    """`event: sla.alert` or `sla.breach`, `id: <event id>`, `data: <event JSON>`; a comment every 15 s."""
    check_segments(request.app.state.config_store.active, priority=priority or (), customer_tier=customer_tier or ())
    broadcaster = _broadcaster(request)
    start = _start(broadcaster, after, last_event_id)
    wanted = _filter(kind, clock, priority, customer_tier)

    async def messages() -> AsyncIterator[ServerSentEvent]:
        async for event in _events(broadcaster, start, wanted):
            yield ServerSentEvent(id=str(event["id"]), event=f"sla.{event['kind']}", data=orjson.dumps(event).decode())

    return EventSourceResponse(messages(), ping=KEEPALIVE_SECONDS)


@router.websocket("/events/ws")
async def event_socket(
    websocket: WebSocket,
    kind: Kind = None,
    clock: Clock = None,
    priority: Segment = None,
    customer_tier: Segment = None,
    after: After = None,
) -> None:
    """One JSON message per event: `{"id", "type", "data"}`; `?after=` resumes."""
    try:
        check_segments(
            websocket.app.state.config_store.active, priority=priority or (), customer_tier=customer_tier or ()
        )
    except InvalidInput as refused:
        await websocket.close(code=1008, reason=str(refused.detail[0]["msg"])[:120])
        return
    await websocket.accept()
    broadcaster = _broadcaster(websocket)
    start = _start(broadcaster, after, None)
    wanted = _filter(kind, clock, priority, customer_tier)

    async def send() -> None:
        async for event in _events(broadcaster, start, wanted):
            await websocket.send_text(
                orjson.dumps({"id": event["id"], "type": f"sla.{event['kind']}", "data": event}).decode()
            )

    sender = asyncio.create_task(send())
    try:
        while True:  # a client's close (or anything it sends) is read here; messages are ignored
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await sender
