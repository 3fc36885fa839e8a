"""Liveness, readiness and metrics: what operators and orchestrators look at."""

import math
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.kit import clock, database, metrics
from api.kit.database import SessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """What the process depends on."""

    status: Literal["ready", "not_ready"]
    database: bool
    schema_current: bool
    evaluator: Literal["leading", "standby", "disabled", "down"]
    auth: Literal["on", "off"]


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    """Always ok while the process serves requests."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, summary="Database reachable, schema current, evaluator alive")
def readyz(request: Request) -> JSONResponse:
    """503 until the database answers at the newest migration and the evaluator loop runs."""
    try:
        schema_current = database.schema_is_current(request.app.state.engine)
        database_ok = True
    except SQLAlchemyError:
        database_ok = schema_current = False
    evaluator = request.app.state.evaluator
    if evaluator is None:
        evaluator_state = "disabled"
    elif not evaluator.is_alive():
        evaluator_state = "down"
    else:
        evaluator_state = "leading" if evaluator.is_leader else "standby"
    ready = database_ok and schema_current and evaluator_state != "down"
    body = Readiness(
        status="ready" if ready else "not_ready",
        database=database_ok,
        schema_current=schema_current,
        evaluator=evaluator_state,
        auth="on" if request.app.state.access.enabled else "off",
    )
    return JSONResponse(status_code=200 if ready else 503, content=body.model_dump())


SCRAPED = text("""
    SELECT (SELECT count(*) FROM notification_deliveries WHERE status = 'pending') AS pending,
           (SELECT min(created_at) FROM notification_deliveries WHERE status = 'pending') AS oldest,
           (SELECT min(next_check_at) FROM tickets) AS next_due
""")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "the Prometheus text format"}},
)
def prometheus_metrics(request: Request, session: SessionDep) -> Response:
    """Counters and histograms of this process, and gauges read at each scrape."""
    row = session.execute(SCRAPED).one()
    now = clock.utc_now()
    metrics.NOTIFICATION_PENDING.set(row.pending)
    age = (now - row.oldest).total_seconds() if row.oldest else 0.0
    metrics.NOTIFICATION_OLDEST_PENDING.set(max(age, 0.0))
    metrics.NEXT_DUE.set((row.next_due - now).total_seconds() if row.next_due else math.nan)
    evaluator = request.app.state.evaluator
    metrics.EVALUATOR_LEADER.set(1 if evaluator is not None and evaluator.is_leader else 0)
    metrics.CONFIG_VERSION.set(request.app.state.config_store.active.version)
    return Response(content=generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
