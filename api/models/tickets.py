"""Tables of tickets: the current state with its derived clock summary, and the snapshot history."""

from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, Computed, Index, Integer, SmallInteger, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.database import TZ, Base
from api.kit.statuses import OPEN_STATUS_SQL

CLOCKS: Final = ("response", "resolution")
KINDS: Final = ("alert", "breach")

# Bits of `events_recorded`, one per (clock, kind); the evaluator sets them as it records events.
EVENT_BITS: Final[dict[tuple[str, str], int]] = {
    (clock, kind): 1 << (2 * clock_index + kind_index)
    for clock_index, clock in enumerate(CLOCKS)
    for kind_index, kind in enumerate(KINDS)
}


def deadline_column(clock: str, kind: str) -> str:
    """The column holding the instant a clock's alert or breach falls due."""
    return f"{clock}_{'alert' if kind == 'alert' else 'due'}_at"


DEADLINE_SQL = (
    "LEAST("
    "CASE WHEN response_phase <> 'stopped' THEN response_due_at END, "
    "CASE WHEN resolution_phase <> 'stopped' THEN resolution_due_at END)"
)

# The SLA state compares these with now: breached once breach_at has passed, at risk once risk_at
# has (and not breached). Indexed, so a state filter is a range scan, not a walk over every ticket.
BREACH_SQL = "LEAST(response_due_at, resolution_due_at)"
RISK_SQL = (
    "LEAST("
    "CASE WHEN response_phase <> 'stopped' THEN response_alert_at END, "
    "CASE WHEN resolution_phase <> 'stopped' THEN resolution_alert_at END)"
)

# The shape of a snapshot and of the clock columns of a ticket row, as ingestion and replays send
# them to PostgreSQL through json_to_recordset.
SNAPSHOT_RECORD = (
    "id text, updated_at timestamptz, priority text, customer_tier text, created_at timestamptz, "
    "status text, first_response_at timestamptz"
)
CLOCK_PARTS: Final = ("phase", "elapsed_us", "running_since", "target_us", "alert_at", "due_at", "stopped_at")
_CLOCK_PART_TYPES: Final = ("text", "bigint", "timestamptz", "bigint", "timestamptz", "timestamptz", "timestamptz")
CLOCK_COLUMNS: Final = [f"{clock}_{part}" for clock in CLOCKS for part in CLOCK_PARTS]
CLOCK_RECORD = ", ".join(
    f"{clock}_{part} {kind}" for clock in CLOCKS for part, kind in zip(CLOCK_PARTS, _CLOCK_PART_TYPES, strict=True)
)


class Ticket(Base):
    """The newest snapshot of a ticket, and where its clocks stand under the config in force."""

    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    priority: Mapped[str] = mapped_column(Text)
    customer_tier: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)
    first_response_at: Mapped[datetime | None] = mapped_column(TZ)
    received_at: Mapped[datetime] = mapped_column(TZ)
    # No foreign key: moving a million open tickets to a new config rewrites this on each of them.
    config_version: Mapped[int] = mapped_column(Integer)

    response_phase: Mapped[str] = mapped_column(Text)
    response_elapsed_us: Mapped[int] = mapped_column(BigInteger)
    response_running_since: Mapped[datetime | None] = mapped_column(TZ)
    response_target_us: Mapped[int] = mapped_column(BigInteger)
    response_alert_at: Mapped[datetime | None] = mapped_column(TZ)
    response_due_at: Mapped[datetime | None] = mapped_column(TZ)
    response_stopped_at: Mapped[datetime | None] = mapped_column(TZ)

    resolution_phase: Mapped[str] = mapped_column(Text)
    resolution_elapsed_us: Mapped[int] = mapped_column(BigInteger)
    resolution_running_since: Mapped[datetime | None] = mapped_column(TZ)
    resolution_target_us: Mapped[int] = mapped_column(BigInteger)
    resolution_alert_at: Mapped[datetime | None] = mapped_column(TZ)
    resolution_due_at: Mapped[datetime | None] = mapped_column(TZ)
    resolution_stopped_at: Mapped[datetime | None] = mapped_column(TZ)

    events_recorded: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    # Derived from the deadlines at the instant of the last write or evaluation (see api/sla/checks.py).
    sla_state: Mapped[str] = mapped_column(Text, server_default=text("'ok'"))
    breached_clocks: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    next_check_at: Mapped[datetime | None] = mapped_column(TZ)
    deadline_at: Mapped[datetime | None] = mapped_column(TZ, Computed(DEADLINE_SQL, persisted=True))
    breach_at: Mapped[datetime | None] = mapped_column(TZ, Computed(BREACH_SQL, persisted=True))
    risk_at: Mapped[datetime | None] = mapped_column(TZ, Computed(RISK_SQL, persisted=True))

    __table_args__ = (
        Index(
            "ix_tickets_next_check_at",
            "next_check_at",
            postgresql_where=text("next_check_at IS NOT NULL"),
        ),
        Index("ix_tickets_deadline_at_id", "deadline_at", "id"),
        Index("ix_tickets_breach_at", "breach_at"),
        Index("ix_tickets_risk_at", "risk_at"),
        # Which config versions open tickets are on, found by a few index probes: the sweep's
        # question whether anything is left on another config costs a millisecond, not a scan.
        Index("ix_tickets_open_config_version", "config_version", postgresql_where=text(OPEN_STATUS_SQL)),
        CheckConstraint("sla_state IN ('ok', 'at_risk', 'breached')", name="sla_state"),
    )


class TicketSnapshot(Base):
    """Every distinct snapshot ever received, older ones included: the history clocks are built from."""

    __tablename__ = "ticket_snapshots"

    # No foreign key: ingestion writes the ticket in the same statement, and a per-row RI check
    # costs more than the rest of the history insert.
    ticket_id: Mapped[str] = mapped_column(Text, primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(TZ, primary_key=True)
    priority: Mapped[str] = mapped_column(Text)
    customer_tier: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)
    first_response_at: Mapped[datetime | None] = mapped_column(TZ)
    received_at: Mapped[datetime] = mapped_column(TZ)
    # The name of the API key the snapshot came through ('anonymous' while access control is off).
    source: Mapped[str | None] = mapped_column(Text)
