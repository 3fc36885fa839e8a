"""HTTP endpoints of tickets: the batch ingestion and the reads."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import TypeAdapter, ValidationError

from api import clock
from api.database import SessionDep
from api.errors import BadRequest, ErrorBody, InvalidInput, NotFound, problem
from api.sla import queries as sla_queries
from api.sla.schemas import EventPublic
from api.sla_config.store import ActiveConfig, ConfigStore
from api.tickets import queries, service
from api.tickets.models import Ticket
from api.tickets.queries import SlaStateFilter
from api.tickets.schemas import (
    FIELD_ORDER,
    ID_PATTERN_MESSAGE,
    IngestResult,
    SnapshotIn,
    SnapshotPublic,
    TicketDetail,
    TicketListItem,
    TicketPage,
    TicketPublic,
    unknown_segment_problems,
)
from api.tickets.statuses import Status

router = APIRouter(tags=["tickets"])

MAX_BATCH = 10_000
_ONE = TypeAdapter(SnapshotIn)
_MANY = TypeAdapter(list[SnapshotIn])

BATCH_SCHEMA = {
    "oneOf": [
        {
            "type": "array",
            "items": {"$ref": "#/components/schemas/SnapshotIn"},
            "minItems": 1,
            "maxItems": MAX_BATCH,
        },
        {"$ref": "#/components/schemas/SnapshotIn"},
    ]
}


async def _config_store(request: Request) -> ConfigStore:
    """The config store; async, so that FastAPI does not hand it to a worker thread."""
    store: ConfigStore = request.app.state.config_store
    return store


ConfigStoreDep = Annotated[ConfigStore, Depends(_config_store)]


def _message(item: Any) -> str:
    if item["type"] == "string_pattern_mismatch" and item["loc"][-1:] == ("id",):
        return ID_PATTERN_MESSAGE
    return str(item["msg"]).removeprefix("Value error, ")


def _problems(error: ValidationError, prefix: list[str | int]) -> list[dict[str, Any]]:
    return [problem([*prefix, *item["loc"]], _message(item), item["type"]) for item in error.errors(include_url=False)]


def _segment_problems(items: list[Any], single: bool, active: ActiveConfig) -> list[dict[str, Any]]:
    priorities, tiers = active.config.priorities, active.config.tiers
    return [
        problem(["body", *([] if single else [index]), name], message, "value_error")
        for index, item in enumerate(items)
        for name, message in unknown_segment_problems(item, priorities, tiers)
    ]


def _in_field_order(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def position(item: dict[str, Any]) -> tuple[int, int]:
        loc = item["loc"]
        index = next((part for part in loc if isinstance(part, int)), -1)
        return index, next((FIELD_ORDER[part] for part in loc if part in FIELD_ORDER), -1)

    return sorted(problems, key=position)


def parse_batch(body: bytes, active: ActiveConfig) -> list[SnapshotIn]:
    """Validate a whole batch before anything is written; every problem is reported at once."""
    stripped = body.lstrip()
    if not stripped:
        raise BadRequest("the request body is empty: send a JSON array of snapshots or one snapshot object")
    single = stripped[:1] == b"{"
    try:
        snapshots = [_ONE.validate_json(body)] if single else _MANY.validate_json(body)
    except ValidationError as exc:
        if any(item["type"] == "json_invalid" for item in exc.errors()):
            reason = exc.errors()[0]["msg"]
            raise BadRequest(f"the body is not valid JSON: {reason}") from None
        if not single and exc.errors()[0]["type"] == "list_type":
            raise InvalidInput(
                detail=[problem(["body"], "send a JSON array of snapshots or one snapshot object", "type_error")]
            ) from None
        raw = orjson.loads(body)
        items = [raw] if single else raw
        unknown = _segment_problems([item if isinstance(item, dict) else {} for item in items], single, active)
        raise InvalidInput(detail=_in_field_order(_problems(exc, ["body"]) + unknown)) from None
    named = ({s.priority for s in snapshots}, {s.customer_tier for s in snapshots})
    if not (named[0] <= set(active.config.priorities) and named[1] <= set(active.config.tiers)):
        raise InvalidInput(detail=_segment_problems(snapshots, single, active))
    if not snapshots:
        raise InvalidInput(detail=[problem(["body"], "the batch is empty: send 1 to 10,000 snapshots", "too_short")])
    if len(snapshots) > MAX_BATCH:
        raise InvalidInput(
            detail=[problem(["body"], f"{len(snapshots)} snapshots: at most {MAX_BATCH:,} per request", "too_long")]
        )
    return snapshots


@router.post(
    "/tickets",
    response_model=IngestResult,
    summary="Ingest ticket snapshots",
    responses={400: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}},
)
async def post_tickets(request: Request, store: ConfigStoreDep) -> Response:
    """Apply a batch of 1 to 10,000 snapshots (or one object) in one transaction.

    The whole batch is validated first; if any snapshot is invalid nothing is written and every
    problem is listed by index and field. Duplicates are no-ops, older snapshots go to the
    history only, and two versions of one instant are settled by the later status.
    """
    active = store.active
    snapshots = parse_batch(await request.body(), active)
    pool: AsyncConnectionPool[AsyncConnection[Any]] = request.app.state.ingest_pool
    # The block commits on leaving it: before the response is sent, never after.
    async with pool.connection() as connection:
        report = await service.ingest_async(connection, snapshots=snapshots, active=active, now=clock.utc_now())
    # Serialized straight from the dataclasses: 10,000 outcome models would cost more than the insert.
    return Response(content=orjson.dumps(report), media_type="application/json")


def _list_item(ticket: Ticket, now: Any) -> TicketListItem:
    return TicketListItem(
        **_ticket_public(ticket, now).model_dump(),
        clocks={clock_name: queries.clock_view(ticket, clock_name, now) for clock_name in ("response", "resolution")},
    )


def _ticket_public(ticket: Ticket, now: Any) -> TicketPublic:
    return TicketPublic(
        id=ticket.id,
        priority=ticket.priority,
        customer_tier=ticket.customer_tier,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        status=ticket.status,
        first_response_at=ticket.first_response_at,
        received_at=ticket.received_at,
        sla_state=queries.ticket_sla_state(ticket, now),
        config_version=ticket.config_version,
    )


@router.get("/tickets", response_model=TicketPage, summary="List tickets, nearest deadline first")
def list_tickets(
    session: SessionDep,
    status: Annotated[list[Status] | None, Query(description="repeat to match several")] = None,
    priority: Annotated[list[str] | None, Query()] = None,
    customer_tier: Annotated[list[str] | None, Query()] = None,
    sla_state: Annotated[list[SlaStateFilter] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> TicketPage:
    """Tickets with both clocks, overdue first, then nearest deadline; paused and finished ones last."""
    now = clock.utc_now()
    rows, next_cursor = queries.list_tickets(
        session,
        now=now,
        limit=limit,
        cursor=cursor,
        status=status or (),
        priority=priority or (),
        customer_tier=customer_tier or (),
        sla_state=sla_state or (),
    )
    return TicketPage(items=[_list_item(ticket, now) for ticket in rows], next_cursor=next_cursor)


@router.get(
    "/tickets/{ticket_id:path}",
    response_model=TicketDetail,
    summary="One ticket with its clocks, history and events",
    responses={404: {"model": ErrorBody}},
)
def get_ticket(ticket_id: str, session: SessionDep) -> TicketDetail:
    """The current snapshot, live clocks, every snapshot received (oldest first) and every event."""
    now = clock.utc_now()
    ticket = queries.get_ticket(session, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id!r}")
    history = [
        SnapshotPublic(
            id=row.ticket_id,
            priority=row.priority,
            customer_tier=row.customer_tier,
            created_at=row.created_at,
            updated_at=row.updated_at,
            status=row.status,
            first_response_at=row.first_response_at,
            received_at=row.received_at,
        )
        for row in queries.history(session, ticket_id)
    ]
    events = [
        EventPublic.model_validate(event, from_attributes=True) for event in sla_queries.events_of(session, ticket_id)
    ]
    return TicketDetail(
        ticket=_ticket_public(ticket, now),
        clocks={clock_name: queries.clock_view(ticket, clock_name, now) for clock_name in ("response", "resolution")},
        history=history,
        events=events,
    )
