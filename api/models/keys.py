"""API keys, stored only as keyed hashes, and the secret that keys the hash."""

from datetime import datetime

from sqlalchemy import BigInteger, Identity, Index, LargeBinary, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.database import TZ, Base


class ApiKey(Base):
    """A key a client presents: its name, scopes and life; the key itself is never stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # HMAC-SHA256 of the key under the service's hashing secret.
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime | None] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)
    last_used_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (Index("ix_api_keys_name", "name"),)


class ServiceSecret(Base):
    """A secret of the service made at its first start and shared by its processes (the key-hashing secret)."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
