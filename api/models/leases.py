"""Leases: who evaluates, until when. A lease that is not renewed lapses, and another process takes it."""

from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.database import TZ, Base


class Lease(Base):
    """One named lease: its holder and when it lapses unless renewed."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    holder: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(TZ)
