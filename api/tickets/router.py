"""HTTP endpoints of tickets: the batch ingestion and the reads."""

from datetime import datetime
from typing import Annotated, Any, get_args

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.kit import clock, metrics
from api.kit.database import SessionDep
from api.kit.errors import ApiError, ErrorBody, NotFound
from api.kit.statuses import Status
from api.models import Ticket, TicketSnapshot
from api.sla import events, state
from api.sla.schemas import EventPublic
from api.sla.state import SlaStateFilter
from api.sla_config.filters import check_segments
from api.sla_config.schema import SlaConfig
from api.sla_config.store import ConfigStore
from api.tickets import queries, service
from api.tickets.coalescing import ClaimQueue
from api.tickets.ingestion import claim_can_finish
from api.tickets.schemas import (
    HistoryItem,
    HistoryPage,
    IngestResult,
    Outcome,
    TicketDetail,
    TicketListItem,
    TicketPage,
    TicketPublic,
)
from api.tickets.validation import BATCH_SCHEMA, parse_batch

router = APIRouter(tags=["tickets"])

THREADED_VALIDATION_BYTES = 256 * 1024
OUTCOMES = get_args(Outcome)
DETAIL_HISTORY = 1_000


async def _config_store(request: Request) -> ConfigStore:
    """The config store; async, so that FastAPI does not hand it to a worker thread."""
    store: ConfigStore = request.app.state.config_store
    return store


ConfigStoreDep = Annotated[ConfigStore, Depends(_config_store)]


@router.post(
    "/tickets",
    response_model=IngestResult,
    summary="Ingest ticket snapshots",
    responses={400: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}},
)
async def post_tickets(request: Request) -> Response:
    """Apply a batch of 1 to 10,000 snapshots (or one object) in one transaction.

    The whole batch is validated first; if any snapshot is invalid nothing is written and every
    problem is listed by index and field. Duplicates are no-ops, older snapshots go to the
    history only, and two versions of one instant are settled by the later status.
    """
    # The config in force straight from the app's state: this path is hot enough that a dependency shows.
    store: ConfigStore = request.app.state.config_store
    active = store.active
    body = await request.body()
    # Validating a large batch takes a while: in a thread, the event loop still answers other requests.
    try:
        if len(body) > THREADED_VALIDATION_BYTES:
            snapshots = await run_in_threadpool(parse_batch, body, active)
        else:
            snapshots = parse_batch(body, active)
    except ApiError:
        metrics.BATCHES_REJECTED.inc()
        raise
    source = request.state.principal.name
    report = None
    # One ticket at one instant: written with the requests of its kind that arrive meanwhile.
    if claim_can_finish(snapshots, active):
        claims: ClaimQueue = request.app.state.claims
        report = await claims.claim(snapshots, active, source)
    if report is None:
        pool: AsyncConnectionPool[AsyncConnection[Any]] = request.app.state.ingest_pool
        # The block commits on leaving it: before the response is sent, never after.
        async with pool.connection() as connection:
            report = await service.ingest_async(
                connection, snapshots=snapshots, active=active, now=clock.utc_now(), source=source
            )
    for outcome in OUTCOMES:
        if count := getattr(report, outcome):
            metrics.SNAPSHOTS.labels(outcome=outcome).inc(count)
    # Serialized straight from plain dicts: 10,000 outcome models would cost more than the insert.
    return Response(content=orjson.dumps(report.response()), media_type="application/json")


def _list_item(ticket: Ticket, now: datetime, config: SlaConfig) -> TicketListItem:
    return TicketListItem(**_ticket_public(ticket, now).model_dump(), clocks=state.clock_views(ticket, now, config))


def _ticket_public(ticket: Ticket, now: datetime) -> TicketPublic:
    return TicketPublic(
        id=ticket.id,
        priority=ticket.priority,
        customer_tier=ticket.customer_tier,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        status=ticket.status,
        first_response_at=ticket.first_response_at,
        received_at=ticket.received_at,
        sla_state=state.ticket_sla_state(ticket, now),
        config_version=ticket.config_version,
    )


@router.get("/tickets", response_model=TicketPage, summary="List tickets, nearest deadline first")
def list_tickets(
    session: SessionDep,
    store: ConfigStoreDep,
    status: Annotated[list[Status] | None, Query(description="repeat to match several")] = None,
    priority: Annotated[list[str] | None, Query()] = None,
    customer_tier: Annotated[list[str] | None, Query()] = None,
    sla_state: Annotated[list[SlaStateFilter] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> TicketPage:
    """Tickets with both clocks, overdue first, then nearest deadline; paused and finished ones last."""
    check_segments(store.active, priority=priority or (), customer_tier=customer_tier or ())
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
    config = store.active.config
    return TicketPage(items=[_list_item(ticket, now, config) for ticket in rows], next_cursor=next_cursor)


def _history_item(row: TicketSnapshot) -> HistoryItem:
    return HistoryItem(
        id=row.ticket_id,
        priority=row.priority,
        customer_tier=row.customer_tier,
        created_at=row.created_at,
        updated_at=row.updated_at,
        status=row.status,
        first_response_at=row.first_response_at,
        received_at=row.received_at,
        source=row.source,
    )


@router.get(
    "/tickets/{ticket_id:path}/history",
    response_model=HistoryPage,
    summary="Every stored snapshot of one ticket, oldest first, page by page",
    responses={404: {"model": ErrorBody}},
)
def get_history(
    ticket_id: str,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> HistoryPage:
    """The ticket's whole history, oldest first."""
    if queries.get_ticket(session, ticket_id) is None:
        raise NotFound(f"no ticket {ticket_id!r}")
    rows, next_cursor = queries.history_page(session, ticket_id, limit=limit, cursor=cursor)
    return HistoryPage(items=[_history_item(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/tickets/{ticket_id:path}",
    response_model=TicketDetail,
    summary="One ticket with its clocks, recent history and events",
    responses={404: {"model": ErrorBody}},
)
def get_ticket(ticket_id: str, session: SessionDep, store: ConfigStoreDep) -> TicketDetail:
    """The current snapshot, live clocks, the newest 1,000 snapshots (oldest first) and every event.

    `history_total` says how many snapshots are stored; GET /tickets/{id}/history pages through all.
    """
    now = clock.utc_now()
    ticket = queries.get_ticket(session, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id!r}")
    history = [_history_item(row) for row in queries.newest_history(session, ticket_id, limit=DETAIL_HISTORY)]
    recorded = [
        EventPublic.model_validate(event, from_attributes=True) for event in events.events_of(session, ticket_id)
    ]
    total = len(history) if len(history) < DETAIL_HISTORY else queries.history_total(session, ticket_id)
    return TicketDetail(
        ticket=_ticket_public(ticket, now),
        clocks=state.clock_views(ticket, now, store.active.config),
        history=history,
        history_total=total,
        events=recorded,
    )
