"""HTTP endpoint of the config in force."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

router = APIRouter(tags=["config"])


class ReloadErrorPublic(BaseModel):
    """Why the latest reload was refused."""

    message: str
    at: datetime


class ConfigPublic(BaseModel):
    """The config in force, its version and the last reload error."""

    version: int
    loaded_at: datetime
    path: str
    last_error: ReloadErrorPublic | None
    config: dict[str, Any]


@router.get("/config", response_model=ConfigPublic, summary="The SLA config in force")
def get_config(request: Request) -> ConfigPublic:
    """The targets in force with their version and load time; `last_error` is set while the file is refused."""
    store = request.app.state.config_store
    active = store.active
    error = store.last_error
    return ConfigPublic(
        version=active.version,
        loaded_at=active.loaded_at,
        path=str(active.path),
        last_error=ReloadErrorPublic(message=error.message, at=error.at) if error else None,
        config=active.config.as_document(),
    )
