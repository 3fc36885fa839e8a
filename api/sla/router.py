"""HTTP endpoints of SLA events and the dashboard summary."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.kit import clock
from api.kit.database import SessionDep
from api.kit.errors import ErrorBody, InvalidInput, problem
from api.kit.timestamps import Timestamp
from api.sla import events, preview, summary
from api.sla.schemas import ConfigPreview, DashboardSummary, EventPage, EventPublic, SegmentPreview
from api.sla_config import loader
from api.sla_config.filters import check_segments
from api.sla_config.loader import ConfigError

router = APIRouter(tags=["sla"])


@router.get("/alerts", response_model=EventPage, summary="Alerts and breaches, newest first")
def list_alerts(
    request: Request,
    session: SessionDep,
    kind: Annotated[list[Literal["alert", "breach"]] | None, Query()] = None,
    clock_name: Annotated[list[Literal["response", "resolution"]] | None, Query(alias="clock")] = None,
    since: Annotated[Timestamp | None, Query(description="RFC 3339; events detected at or after it")] = None,
    ticket: Annotated[str | None, Query(description="one ticket's id")] = None,
    priority: Annotated[list[str] | None, Query()] = None,
    customer_tier: Annotated[list[str] | None, Query()] = None,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="only events recorded after this id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> EventPage:
    """The event log, filtered by kind, clock, priority, tier, detection time, ticket or event id."""
    check_segments(request.app.state.config_store.active, priority=priority or (), customer_tier=customer_tier or ())
    rows, next_cursor = events.list_events(
        session,
        limit=limit,
        cursor=cursor,
        kind=kind or (),
        clock=clock_name or (),
        since=since,
        ticket_id=ticket,
        priority=priority or (),
        customer_tier=customer_tier or (),
        after=after,
    )
    return EventPage(
        items=[EventPublic.model_validate(row, from_attributes=True) for row in rows], next_cursor=next_cursor
    )


@router.get("/dashboard/summary", response_model=DashboardSummary, summary="Figures of the dashboard")
def dashboard_summary(
    session: SessionDep,
    window: Annotated[summary.Window, Query(description="24h (hourly buckets), 7d or 30d (daily)")] = "24h",
) -> DashboardSummary:
    """Open tickets by SLA state and segment, events by the instant they fell due, compliance overall and by day."""
    now: datetime = clock.utc_now()
    return summary.summary(session, now=now, window=window)


PREVIEW_BODY = {
    "required": True,
    "content": {"application/yaml": {"schema": {"type": "string", "description": "a candidate sla_config.yaml"}}},
}
FIGURES = ("open_tickets", "deadlines_moved", "newly_at_risk", "newly_breached", "no_longer_breached")


@router.post(
    "/config/preview",
    response_model=ConfigPreview,
    tags=["config"],
    summary="What a candidate sla_config.yaml would change, without applying it",
    responses={422: {"model": ErrorBody}},
    openapi_extra={"requestBody": PREVIEW_BODY},
)
async def preview_config(request: Request, session: SessionDep) -> ConfigPreview:
    """Deadlines moved and tickets newly at risk, newly breached or no longer breached, per priority x tier.

    A candidate a reload would refuse gets 422 with the same reason.
    """
    try:
        candidate = loader.parse_bytes(await request.body()).config
        effect = await run_in_threadpool(preview.preview, session, candidate=candidate, now=clock.utc_now())
    except ConfigError as refused:
        raise InvalidInput(detail=[problem(["body"], str(refused), "config")]) from None
    segments = [
        SegmentPreview(priority=priority, customer_tier=tier, **vars(figures))
        for (priority, tier), figures in sorted(effect.segments.items())
    ]
    return ConfigPreview(valid=True, **{name: effect.total(name) for name in FIGURES}, by_priority_tier=segments)
