"""One error base and one JSON shape: `{"error": str, "detail": ...}`.

    ApiError                 400, a request the service cannot read
    ├── BadRequest           400, e.g. malformed JSON
    ├── InvalidInput         422, every problem listed with its location
    └── NotFound             404

Bad input is never a 500: request validation errors answer like InvalidInput, a database that
is out of reach or transactions that kept conflicting answer 503.
"""

import logging
import re
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from api.kit.steps import is_retryable

logger = logging.getLogger(__name__)

ERROR_CODES = {404: "not_found", 405: "method_not_allowed"}


class ErrorBody(BaseModel):
    """The shape of every error response."""

    error: str
    detail: Any = None


class ApiError(Exception):
    """Base of the errors a client can cause or must be told about."""

    status_code = 400
    error = "bad_request"
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None, detail: Any = None) -> None:
        super().__init__(message or self.error)
        self.message = message or self.error
        self.detail = detail


class BadRequest(ApiError):
    """The request cannot be read."""


class InvalidInput(ApiError):
    """The request was read but breaks the contract; `detail` lists every problem."""

    status_code = 422
    error = "validation_error"


class NotFound(ApiError):
    """No such resource."""

    status_code = 404
    error = "not_found"


def problem(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    """One entry of a 422's detail list."""
    return {"loc": loc, "msg": msg, "type": kind}


def error_response(status_code: int, error: str, detail: Any = None) -> JSONResponse:
    """A response in the one error shape."""
    return JSONResponse(status_code=status_code, content={"error": error, "detail": detail})


def _unavailable(cause: BaseException | None) -> JSONResponse:
    """503 for a database that is out of reach, or for writes that kept conflicting."""
    if cause is not None and is_retryable(cause):
        logger.warning("concurrent writes kept conflicting: %s", cause)
        return error_response(503, "service_unavailable", "concurrent writes to the same tickets conflicted; retry")
    logger.warning("database unavailable: %s", cause)
    return error_response(503, "service_unavailable", "the database cannot be reached; retry later")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in getattr(request.app.state, "routes", ()):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one JSON shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        response = error_response(exc.status_code, exc.error, exc.detail if exc.detail is not None else exc.message)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            problem(list(item["loc"]), str(item["msg"]).removeprefix("Value error, "), item["type"])
            for item in exc.errors()
        ]
        return error_response(422, "validation_error", detail)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = ERROR_CODES.get(exc.status_code) or re.sub(r"\W+", "_", HTTPStatus(exc.status_code).phrase.lower())
        response = error_response(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["allow"] = ", ".join(_allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        from api.kit.edge import REQUEST_ID

        request_id = REQUEST_ID.get()
        logger.error("unexpected failure of request %s", request_id, exc_info=exc)
        response = error_response(500, "internal_error", {"request_id": request_id})
        response.headers["x-request-id"] = request_id
        return response

    @app.exception_handler(OperationalError)
    async def _database_down(_: Request, exc: OperationalError) -> JSONResponse:
        return _unavailable(exc.orig)

    # The ingestion path talks to psycopg directly, so its errors arrive unwrapped.
    @app.exception_handler(psycopg.OperationalError)
    async def _database_down_direct(_: Request, exc: psycopg.OperationalError) -> JSONResponse:
        return _unavailable(exc)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(_: Request, exc: PoolTimeout) -> JSONResponse:
        logger.warning("no database connection available: %s", exc)
        return error_response(503, "service_unavailable", "the database cannot be reached; retry later")
