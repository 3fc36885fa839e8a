"""Liveness, readiness and metrics: what operators and orchestrators look at."""

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
    )
    return JSONResponse(status_code=200 if ready else 503, content=body.model_dump())


PENDING = text(
    "SELECT count(*) AS pending, min(created_at) AS oldest FROM notification_deliveries WHERE status = 'pending'"
)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "the Prometheus text format"}},
)
def prometheus_metrics(session: SessionDep) -> Response:
    """Counters and histograms of this process, and gauges read from the database at each scrape."""
    row = session.execute(PENDING).one()
    metrics.NOTIFICATION_PENDING.set(row.pending)
    age = (clock.utc_now() - row.oldest).total_seconds() if row.oldest else 0.0
    metrics.NOTIFICATION_OLDEST_PENDING.set(max(age, 0.0))
    return Response(content=generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
