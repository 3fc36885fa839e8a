"""Response models of the notification endpoints."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class DestinationPublic(BaseModel):
    """A destination of the config in force: its filters, its state and its deliveries by status."""

    name: str
    format: Literal["webhook", "slack", "apprise"]
    url: str
    secret_env: str | None
    kinds: list[str] | None
    clocks: list[str] | None
    priorities: list[str] | None
    tiers: list[str] | None
    retries: list[int]
    state: Literal["active", "disabled"]
    disabled_reason: str | None
    pending: int
    delivered: int
    dead: int


class DestinationList(BaseModel):
    """Every destination of the config in force."""

    items: list[DestinationPublic]


class DeliveryPublic(BaseModel):
    """One event on its way to one destination."""

    id: int
    event_id: int
    destination: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None


class DeliveryPage(BaseModel):
    """One page of deliveries, newest first."""

    items: list[DeliveryPublic]
    next_cursor: str | None
