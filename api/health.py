"""Liveness and readiness."""

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from api.kit import database

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
