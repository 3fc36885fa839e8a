"""The summary's counts, kept by triggers as deltas, always equal a recount of the tickets by the definitions."""

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.models import Ticket, TicketCountDelta
from api.sla import state, summary
from api.sla_config.loader import parse_text
from api.sla_config.store import ActiveConfig
from tests.builders import apply_batch, run_pass
from tests.conftest import SEED_CONFIG, T0
from tests.strategies import deliveries, ticket_histories

SEED = parse_text(SEED_CONFIG).config

Segment = tuple[str, str]


def _recount(session: Session, now: datetime) -> dict[Segment, dict[str, int]]:
    """The counts by their definitions at `now`, from each ticket's clocks as every view shows them."""
    recount: dict[Segment, dict[str, int]] = {}
    for ticket in session.scalars(select(Ticket)):
        row = recount.setdefault((ticket.priority, ticket.customer_tier), dict.fromkeys(summary.COUNTS, 0))
        is_open = ticket.status not in ("resolved", "closed")
        sla_state = state.ticket_sla_state(ticket, now)
        row["total"] += 1
        row["open"] += is_open
        row["breached"] += is_open and sla_state == "breached"
        row["at_risk"] += is_open and sla_state == "at_risk"
        for clock, view in state.clock_views(ticket, now, SEED).items():
            row[f"{clock}_met"] += view.state == "met"
            row[f"{clock}_breached"] += view.state == "breached"
    return {segment: counts for segment, counts in recount.items() if counts["total"]}


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
            text(
                "TRUNCATE notification_deliveries, sla_events, event_counts, ticket_snapshots, tickets RESTART IDENTITY"
            )
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
            assert summary.segment_counts(session, now=now) == _recount(session, now)
            later = now + timedelta(minutes=data.draw(st.integers(0, 400)))
            assert summary.segment_counts(session, now=later) == _recount(session, later)


def test_folding_keeps_the_sums_in_one_row_per_segment_and_day_and_truncate_clears_them(
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
        assert _kept(session) == before == _recount(session, T0 + timedelta(days=3))
        keys = session.execute(select(TicketCountDelta.priority, TicketCountDelta.customer_tier, TicketCountDelta.day))
        listed = list(keys)
        assert len(listed) == len(set(listed)) == 2  # the segment's counts, and its clocks' outcomes on one day
        session.execute(text("TRUNCATE tickets"))
        session.commit()
        assert session.scalar(select(func.count()).select_from(TicketCountDelta)) == 0
        assert summary.summary(session, now=T0).total_tickets == 0
