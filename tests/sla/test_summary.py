"""The summary's counts, kept by triggers as deltas, always equal a recount of the tickets."""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.models import Ticket, TicketCountDelta
from api.models.tickets import EVENT_BITS
from api.sla import summary
from api.sla_config.store import ActiveConfig
from tests.builders import apply_batch, run_pass
from tests.conftest import T0
from tests.strategies import deliveries, ticket_histories

Segment = tuple[str, str]


def _recount(session: Session) -> dict[Segment, dict[str, int]]:
    """The counts by their definitions, from the ticket rows."""
    recount: dict[Segment, dict[str, int]] = {}
    for ticket in session.scalars(select(Ticket)):
        row = recount.setdefault((ticket.priority, ticket.customer_tier), dict.fromkeys(summary.COUNTS, 0))
        recorded = {key for key, bit in EVENT_BITS.items() if ticket.events_recorded & bit}
        is_open = ticket.status not in ("resolved", "closed")
        breached = bool(recorded & {("response", "breach"), ("resolution", "breach")})
        alerted = any(
            (clock, "alert") in recorded and getattr(ticket, f"{clock}_phase") != "stopped"
            for clock in ("response", "resolution")
        )
        row["total"] += 1
        row["open"] += is_open
        row["breached"] += is_open and breached
        row["at_risk"] += is_open and not breached and alerted
        for clock in ("response", "resolution"):
            stopped_short = (
                getattr(ticket, f"{clock}_phase") == "stopped" and getattr(ticket, f"{clock}_due_at") is None
            )
            row[f"{clock}_met"] += stopped_short
            row[f"{clock}_breached"] += (clock, "breach") in recorded
    return recount


def _kept(session: Session) -> dict[Segment, dict[str, int]]:
    return {
        (row.priority, row.customer_tier): {name: getattr(row, name) for name in summary.COUNTS}
        for row in session.execute(summary.SEGMENT_COUNTS)
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_kept_counts_equal_a_recount_after_any_writes_passes_and_folds(
    sessions: sessionmaker[Session], active: ActiveConfig, data: st.DataObject
) -> None:
    with sessions() as session:
        session.execute(
            text("TRUNCATE notification_deliveries, sla_events, ticket_snapshots, tickets RESTART IDENTITY")
        )
        session.commit()
    now = T0
    for batch in data.draw(deliveries(data.draw(ticket_histories()))):
        now += timedelta(minutes=data.draw(st.integers(0, 400)))
        apply_batch(sessions, active, batch, now=now)
        if data.draw(st.booleans()):
            run_pass(sessions, now=now)
        if data.draw(st.booleans()):
            with sessions() as session:
                summary.fold(session)
                session.commit()
        with sessions() as session:
            assert _kept(session) == _recount(session)


def test_folding_keeps_the_sums_in_one_row_per_segment_and_truncate_clears_them(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    from tests.builders import snapshot

    for number in range(5):
        apply_batch(sessions, active, [snapshot(f"T-{number}", created_at=T0, updated_at=T0)], now=T0)
    run_pass(sessions, now=T0 + timedelta(days=3))
    with sessions() as session:
        before = _kept(session)
        summary.fold(session)
        session.commit()
        assert _kept(session) == before == _recount(session)
        assert session.scalar(select(func.count()).select_from(TicketCountDelta)) == len(before)
        session.execute(text("TRUNCATE tickets CASCADE"))
        session.commit()
        assert session.scalar(select(func.count()).select_from(TicketCountDelta)) == 0
        assert summary.summary(session, now=T0).total_tickets == 0
