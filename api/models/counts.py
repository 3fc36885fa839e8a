"""Ticket counts per priority x tier, appended as deltas by triggers on `tickets`."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Identity, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.database import TZ, Base


class TicketCountDelta(Base):
    """A change to the ticket counts of one priority x tier, appended by triggers on `tickets`.

    The counts of a segment are the sum of its rows; the evaluator folds them into one row now and then.
    """

    __tablename__ = "ticket_counts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    priority: Mapped[str] = mapped_column(Text)
    customer_tier: Mapped[str] = mapped_column(Text)
    # The UTC day a clock was decided, for the met and breached counts; none for the others.
    day: Mapped[date | None] = mapped_column(Date)
    total: Mapped[int] = mapped_column(BigInteger)
    open: Mapped[int] = mapped_column(BigInteger)
    breached: Mapped[int] = mapped_column(BigInteger)
    at_risk: Mapped[int] = mapped_column(BigInteger)
    response_met: Mapped[int] = mapped_column(BigInteger)
    response_breached: Mapped[int] = mapped_column(BigInteger)
    resolution_met: Mapped[int] = mapped_column(BigInteger)
    resolution_breached: Mapped[int] = mapped_column(BigInteger)


class EventCountDelta(Base):
    """Events of one kind and clock of a priority x tier that fell due in one UTC hour, appended by passes."""

    __tablename__ = "event_counts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    hour: Mapped[datetime] = mapped_column(TZ)
    priority: Mapped[str] = mapped_column(Text)
    customer_tier: Mapped[str] = mapped_column(Text)
    clock: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    events: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_event_counts_hour", "hour"),)
