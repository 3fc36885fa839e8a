"""The append-only log of SLA events."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.database import TZ, Base


class SlaEvent(Base):
    """An alert or breach of one clock of one ticket, recorded once and never changed."""

    __tablename__ = "sla_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(Text)
    clock: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(TZ)
    detected_at: Mapped[datetime] = mapped_column(TZ)
    target_seconds: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(Text)
    customer_tier: Mapped[str] = mapped_column(Text)
    config_version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("ticket_id", "clock", "kind", name="uq_sla_events_ticket_clock_kind"),
        CheckConstraint("clock IN ('response', 'resolution')", name="clock"),
        CheckConstraint("kind IN ('alert', 'breach')", name="kind"),
        Index("ix_sla_events_detected_at_id", "detected_at", "id"),
    )
