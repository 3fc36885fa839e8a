"""HTTP endpoints of notifications: destinations, deliveries, and the repairs an operator makes."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from api.kit import clock
from api.kit.database import SessionDep
from api.kit.errors import ApiError, ErrorBody, NotFound
from api.models import NotificationDelivery
from api.notifications import queries
from api.notifications.schemas import DeliveryPage, DeliveryPublic, DestinationList, DestinationPublic
from api.sla_config.notifications import redact_url
from api.sla_config.store import ConfigStore

router = APIRouter(tags=["notifications"])


class AlreadyDelivered(ApiError):
    """The delivery already reached its receiver."""

    status_code = 409
    error = "conflict"


def _store(request: Request) -> ConfigStore:
    store: ConfigStore = request.app.state.config_store
    return store


def _delivery(row: NotificationDelivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(row, from_attributes=True)


@router.get("/notifications", response_model=DestinationList, summary="Destinations, their state and deliveries")
def list_destinations(request: Request, session: SessionDep) -> DestinationList:
    """Every destination of the config in force, with its filters, state and delivery counts."""
    counts = queries.counts(session)
    states = queries.states(session)
    items = []
    for name, destination in _store(request).active.config.notifications.items():
        state = states.get(name)
        disabled = state is not None and state.state == "disabled"
        items.append(
            DestinationPublic(
                name=name,
                format=destination.format,
                url=redact_url(destination.url),
                secret_env=destination.secret_env,
                kinds=list(destination.kinds) if destination.kinds else None,
                clocks=list(destination.clocks) if destination.clocks else None,
                priorities=list(destination.priorities) if destination.priorities else None,
                tiers=list(destination.tiers) if destination.tiers else None,
                retries=list(destination.retries),
                state="disabled" if disabled else "active",
                disabled_reason=state.reason if disabled and state else None,
                **counts.get(name, {"pending": 0, "delivered": 0, "dead": 0}),
            )
        )
    return DestinationList(items=items)


@router.get("/notifications/deliveries", response_model=DeliveryPage, summary="Deliveries, newest first")
def list_deliveries(
    session: SessionDep,
    status: Annotated[list[Literal["pending", "delivered", "dead"]] | None, Query()] = None,
    destination: Annotated[list[str] | None, Query()] = None,
    event: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="one event's id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> DeliveryPage:
    """The outbox, filtered by status, destination or event."""
    rows, next_cursor = queries.list_deliveries(
        session, limit=limit, cursor=cursor, status=status or (), destination=destination or (), event_id=event
    )
    return DeliveryPage(items=[_delivery(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/notifications/deliveries/{delivery_id}/retry",
    response_model=DeliveryPublic,
    summary="Queue a dead or pending delivery for now",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def retry_delivery(delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep) -> DeliveryPublic:
    """A dead delivery gets one more attempt, a pending one is attempted at once."""
    delivery = queries.retry(session, delivery_id=delivery_id, now=clock.utc_now())
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    if delivery.status == "delivered":
        raise AlreadyDelivered(f"delivery {delivery_id} was already delivered")
    return _delivery(delivery)


@router.post(
    "/notifications/{name}/enable",
    response_model=DestinationList,
    summary="Re-enable a destination a receiver disabled",
    responses={404: {"model": ErrorBody}},
)
def enable_destination(name: str, request: Request, session: SessionDep) -> DestinationList:
    """The destination's held deliveries go out at once."""
    if name not in _store(request).active.config.notifications:
        raise NotFound(f"no destination {name!r} in the config in force")
    queries.enable(session, name=name, now=clock.utc_now())
    session.flush()
    return DestinationList(items=[item for item in list_destinations(request, session).items if item.name == name])
