"""Ticket counts per priority x tier, appended as deltas by triggers on `tickets`."""

from sqlalchemy import BigInteger, Identity, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.database import Base


class TicketCountDelta(Base):
    """A change to the ticket counts of one priority x tier, appended by triggers on `tickets`.

    The counts of a segment are the sum of its rows; the evaluator folds them into one row now and then.
    """

    __tablename__ = "ticket_counts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    priority: Mapped[str] = mapped_column(Text)
    customer_tier: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(BigInteger)
    open: Mapped[int] = mapped_column(BigInteger)
    breached: Mapped[int] = mapped_column(BigInteger)
    at_risk: Mapped[int] = mapped_column(BigInteger)
    response_met: Mapped[int] = mapped_column(BigInteger)
    response_breached: Mapped[int] = mapped_column(BigInteger)
    resolution_met: Mapped[int] = mapped_column(BigInteger)
    resolution_breached: Mapped[int] = mapped_column(BigInteger)
