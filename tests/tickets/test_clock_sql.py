"""Clocks that ingestion plans and moves on in SQL equal the Python walk of the same history, to the microsecond."""

import dataclasses
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.kit.statuses import STATUS_ORDER
from api.models.tickets import CLOCK_COLUMNS
from api.sla import planning
from api.sla_config.loader import parse_text
from api.sla_config.store import ActiveConfig
from api.tickets.schemas import SnapshotIn
from tests.builders import ingest_counting_round_trips, snapshot
from tests.conftest import SEED_CONFIG, T0

CONFIGS = [
    parse_text(SEED_CONFIG).config,
    parse_text(SEED_CONFIG + "pause_statuses: [pending, open]\nalert_threshold: 0.5\n").config,
    parse_text(SEED_CONFIG + "alert_threshold: 1.0\n").config,
    parse_text(SEED_CONFIG + "alert_threshold: 0.0\npause_statuses: [pending, in_progress]\n").config,
]
# Every threshold of those targets, so that clocks often pause or stop exactly on one.
THRESHOLD_SECONDS = sorted(
    {
        us // 1_000_000
        for config in CONFIGS
        for target in config.clock_targets.values()
        for us in (target.target_us, target.alert_us)
    }
)
offsets = st.integers(0, 2 * 86_400) | st.sampled_from(THRESHOLD_SECONDS)


@st.composite
def in_order_histories(draw: st.DrawFn) -> list[SnapshotIn]:
    """Snapshots of one ticket in time order, created at an instant with microseconds."""
    created_at = T0 + timedelta(microseconds=draw(st.integers(0, 999_999)))
    priority, tier = draw(st.sampled_from(["low", "high"])), draw(st.sampled_from(["silver", "gold"]))
    history = []
    for offset in sorted(draw(st.sets(offsets, min_size=1, max_size=6))):
        answered = draw(st.none() | offsets)
        history.append(
            snapshot(
                created_at=created_at,
                updated_at=created_at + timedelta(seconds=offset),
                status=draw(st.sampled_from(STATUS_ORDER)),
                priority=priority,
                customer_tier=tier,
                first_response_at=None if answered is None else created_at + timedelta(seconds=answered),
            )
        )
    return history


def _stored_clocks(sessions: sessionmaker[Session]) -> dict[str, object]:
    with sessions() as session:
        row = session.execute(text(f"SELECT {', '.join(CLOCK_COLUMNS)} FROM tickets WHERE id = 'T-1'")).one()
    return dict(zip(CLOCK_COLUMNS, row, strict=True))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=in_order_histories(), config_index=st.integers(0, len(CONFIGS) - 1))
def test_each_in_order_snapshot_is_planned_in_one_round_trip_exactly_as_the_full_walk(
    sessions: sessionmaker[Session], active: ActiveConfig, history: list[SnapshotIn], config_index: int
) -> None:
    with sessions() as session:
        session.execute(text("TRUNCATE notification_deliveries, sla_events, ticket_snapshots, tickets"))
        session.commit()
    rules = dataclasses.replace(active, config=CONFIGS[config_index])

    for count, current in enumerate(history, start=1):
        report, round_trips = ingest_counting_round_trips(sessions, rules, [current])

        assert [result["outcome"] for result in report.results] == ["created" if count == 1 else "updated"]
        assert round_trips == 1
        walked = planning.plan_clocks(current, history[:count], rules.config)
        assert _stored_clocks(sessions) == walked
