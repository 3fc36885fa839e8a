"""Making, hashing, listing and revoking API keys.

A key is `sla_` and 43 characters of a 256-bit random value, shown once when made. Only an
HMAC-SHA256 of it is stored, keyed by a secret the service makes at its first start: a random
256-bit key needs no slow hash, and nothing a person chose is ever stored.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.kit.channels import KEYS_CHANNEL
from api.models import ApiKey, ServiceSecret

Scope = Literal["tickets:write", "read", "admin"]
SCOPES: Final[tuple[Scope, ...]] = ("tickets:write", "read", "admin")
PREFIX: Final = "sla_"
HASHING_SECRET_NAME: Final = "api-key-hashing"  # noqa: S105 (the name of a row, not a secret)
BOOTSTRAP_LOCK_KEY: Final = 7_306_241_004


def new_key() -> str:
    """A fresh random key."""
    return PREFIX + secrets.token_urlsafe(32)


def hashing_secret(session: Session) -> bytes:
    """The secret that keys every key's hash, made once and shared by every process."""
    found = session.get(ServiceSecret, HASHING_SECRET_NAME)
    if found is not None:
        return found.value
    session.execute(
        insert(ServiceSecret).values(name=HASHING_SECRET_NAME, value=secrets.token_bytes(32)).on_conflict_do_nothing()
    )
    return session.get_one(ServiceSecret, HASHING_SECRET_NAME, populate_existing=True).value


def key_hash(secret: bytes, key: str) -> bytes:
    """The stored form of a key."""
    return hmac.new(secret, key.encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class MadeKey:
    """A key just made: its row, and the key itself, which is never shown again."""

    row: ApiKey
    key: str


def create(
    session: Session, *, name: str, scopes: Sequence[Scope], expires_at: datetime | None, now: datetime
) -> MadeKey:
    """Make a key with these scopes; the caller commits."""
    key = new_key()
    row = ApiKey(
        name=name,
        scopes=sorted(set(scopes)),
        key_hash=key_hash(hashing_secret(session), key),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return MadeKey(row=row, key=key)


def listed(session: Session) -> list[ApiKey]:
    """Every key not revoked, oldest first."""
    return list(session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.id)))


def revoke(session: Session, *, key_id: int, now: datetime) -> bool:
    """Revoke a key on every process (they are told on commit); False if there is no such live key."""
    done = session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(text("SELECT pg_notify(:channel, :id)"), {"channel": KEYS_CHANNEL, "id": str(key_id)})
    return True


def bootstrap_admin(session: Session, *, now: datetime) -> str | None:
    """At a first start with no admin key: make one and return it (only one process of several does)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BOOTSTRAP_LOCK_KEY})
    existing = session.scalar(
        select(ApiKey.id).where(ApiKey.revoked_at.is_(None), ApiKey.scopes.contains(["admin"])).limit(1)
    )
    if existing is not None:
        return None
    return create(session, name="admin", scopes=["admin"], expires_at=None, now=now).key
