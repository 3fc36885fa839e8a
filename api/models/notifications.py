"""The notification outbox: one delivery per (event, destination), and the state of each destination."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.database import TZ, Base


class NotificationDelivery(Base):
    """An event on its way to one destination; written in the transaction that records the event."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    destination: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # When the next attempt may start; while an attempt is under way, when its claim lapses.
    next_attempt_at: Mapped[datetime] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    last_attempt_at: Mapped[datetime | None] = mapped_column(TZ)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (
        UniqueConstraint("event_id", "destination", name="uq_notification_deliveries_event_destination"),
        CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
        Index(
            "ix_notification_deliveries_due",
            "destination",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_notification_deliveries_destination_status", "destination", "status"),
    )


class NotificationDestination(Base):
    """A destination that is, or was, disabled (a receiver answered 410 Gone); absent means active."""

    __tablename__ = "notification_destinations"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(TZ)
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("state IN ('active', 'disabled')", name="state"),)
