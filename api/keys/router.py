"""HTTP endpoints of API keys: make, list, revoke (admin scope)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.keys import service
from api.keys.schemas import KeyCreate, KeyList, KeyMade, KeyPublic
from api.kit import clock
from api.kit.database import SessionDep
from api.kit.errors import ErrorBody, NotFound

router = APIRouter(tags=["keys"])


@router.post("/keys", response_model=KeyMade, status_code=201, summary="Make an API key; the key is shown once")
def create_key(body: KeyCreate, session: SessionDep) -> KeyMade:
    """A random key with the scopes asked for; only its hash is kept."""
    made = service.create(session, name=body.name, scopes=body.scopes, expires_at=body.expires_at, now=clock.utc_now())
    return KeyMade(**KeyPublic.model_validate(made.row, from_attributes=True).model_dump(), key=made.key)


@router.get("/keys", response_model=KeyList, summary="Every key not revoked, never its secret")
def list_keys(session: SessionDep) -> KeyList:
    """Names, scopes, expiry and when each was last used (at most a minute stale)."""
    return KeyList(items=[KeyPublic.model_validate(row, from_attributes=True) for row in service.listed(session)])


@router.delete(
    "/keys/{key_id}",
    status_code=204,
    summary="Revoke a key, on every process within a second",
    responses={404: {"model": ErrorBody}},
)
def revoke_key(key_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, request: Request) -> Response:
    """The key stops working at once here and within a second everywhere."""
    if not service.revoke(session, key_id=key_id, now=clock.utc_now()):
        raise NotFound(f"no live key {key_id}")
    session.commit()
    # The NOTIFY reaches this process too, a moment later; no request here may use the key meanwhile.
    request.app.state.access.forget()
    return Response(status_code=204)
