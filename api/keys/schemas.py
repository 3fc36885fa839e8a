"""Request and response models of the key endpoints."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.keys.service import Scope
from api.kit.timestamps import Timestamp


class KeyCreate(BaseModel):
    """A key to make."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$", description="who uses it")
    scopes: list[Scope] = Field(min_length=1, description="tickets:write, read, admin (admin implies the others)")
    expires_at: Timestamp | None = Field(default=None, description="RFC 3339; none: never")


class KeyPublic(BaseModel):
    """A key as listed: never its secret."""

    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class KeyMade(KeyPublic):
    """A key just made, with the key itself: shown this once."""

    key: str


class KeyList(BaseModel):
    """Every key not revoked."""

    items: list[KeyPublic]
