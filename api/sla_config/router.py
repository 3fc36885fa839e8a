"""HTTP endpoint of the config in force."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.sla_config.notifications import redact_url

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
    """The targets in force with their version and load time; `last_error` is set while the file is refused.

    Destination URLs are shown with their scheme and host only; signing secrets only by the variable holding them.
    """
    store = request.app.state.config_store
    active = store.active
    error = store.last_error
    return ConfigPublic(
        version=active.version,
        loaded_at=active.loaded_at,
        path=str(active.path),
        last_error=ReloadErrorPublic(message=error.message, at=error.at) if error else None,
        config=_shown(active.config.as_document()),
    )


def _shown(document: dict[str, Any]) -> dict[str, Any]:
    """The config as it may be shown: destination URLs redacted, since they often carry tokens."""
    notifications = {
        name: {**destination, "url": redact_url(destination["url"])}
        for name, destination in document.get("notifications", {}).items()
    }
    return {**document, "notifications": notifications}
