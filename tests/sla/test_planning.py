"""Moving a ticket's clocks on from its stored summary equals replaying its whole history."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from api.kit.statuses import STATUS_ORDER
from api.sla import planning
from api.sla.business_time import TWENTY_FOUR_SEVEN
from api.sla.planning import Snapshot, StoredClock
from api.sla_config.loader import parse_text
from tests.conftest import SEED_CONFIG, T0

OFFICE = """
calendars:
  office:
    timezone: America/New_York
    hours: {mon-fri: ["08:00-12:00", "13:00-17:30"], sat: "10:00-13:00"}
    holidays: {dates: ["2026-11-03"]}
calendar: office
"""
CONFIGS = [
    parse_text(SEED_CONFIG).config,
    parse_text(SEED_CONFIG + "pause_statuses: [pending, open]\nalert_threshold: 0.5\n").config,
    parse_text(SEED_CONFIG + OFFICE).config,
]


# Minutes at which a threshold of the seed targets falls, so that segments often end exactly on one.
THRESHOLD_MINUTES = [13, 15, 27, 30, 51, 60, 102, 120, 153, 180, 306, 360, 612, 720, 1224]
minutes = st.integers(0, 24 * 60) | st.sampled_from(THRESHOLD_MINUTES)


@st.composite
def ordered_histories(draw: st.DrawFn) -> list[Snapshot]:
    """Snapshots of one ticket in time order, keeping its creation, priority and tier."""
    priority, tier = draw(st.sampled_from(["low", "high"])), draw(st.sampled_from(["silver", "gold"]))
    offsets = sorted(draw(st.sets(minutes, min_size=2, max_size=10)))
    history = []
    for offset in offsets:
        answered = draw(st.none() | minutes)
        history.append(
            Snapshot(
                id="T-1",
                updated_at=T0 + timedelta(minutes=offset),
                priority=priority,
                customer_tier=tier,
                created_at=T0,
                status=draw(st.sampled_from(STATUS_ORDER)),
                first_response_at=None if answered is None else T0 + timedelta(minutes=answered),
            )
        )
    return history


def stored(columns: dict[str, object]) -> dict[str, StoredClock]:
    return {
        clock: StoredClock(
            phase=columns[f"{clock}_phase"],  # type: ignore[arg-type]
            elapsed_us=columns[f"{clock}_elapsed_us"],  # type: ignore[arg-type]
            running_since=columns[f"{clock}_running_since"],  # type: ignore[arg-type]
            alert_at=columns[f"{clock}_alert_at"],  # type: ignore[arg-type]
            due_at=columns[f"{clock}_due_at"],  # type: ignore[arg-type]
            stopped_at=columns[f"{clock}_stopped_at"],  # type: ignore[arg-type]
        )
        for clock in ("response", "resolution")
    }


@settings(max_examples=600, deadline=None)
@given(history=ordered_histories(), cut=st.integers(1, 9), config_index=st.integers(0, len(CONFIGS) - 1))
def test_moving_the_clocks_on_from_the_summary_equals_a_replay(
    history: list[Snapshot], cut: int, config_index: int
) -> None:
    config = CONFIGS[config_index]
    cut = min(cut, len(history) - 1)
    earlier, later = history[:cut], history[cut:]
    summary = planning.plan_clocks(earlier[-1], earlier, config)

    moved = planning.advance_clocks(stored(summary), T0, later, later[-1], config)

    assert moved == planning.plan_clocks(history[-1], history, config)


ALWAYS_OPEN_CONFIGS = [
    *CONFIGS[:2],
    parse_text(SEED_CONFIG + "alert_threshold: 1.0\n").config,
    parse_text(SEED_CONFIG + "alert_threshold: 0.0\npause_statuses: [pending, in_progress]\n").config,
]
# Offsets in seconds that land on, just before and just after a threshold of the seed targets.
THRESHOLD_SECONDS = [60 * minute + delta for minute in THRESHOLD_MINUTES for delta in (-1, 0, 1)]
seconds = st.integers(0, 2 * 86_400) | st.sampled_from(THRESHOLD_SECONDS)


@settings(max_examples=800, deadline=None)
@given(
    updated=seconds,
    answered=st.none() | seconds,
    status=st.sampled_from(STATUS_ORDER),
    priority=st.sampled_from(["low", "high"]),
    tier=st.sampled_from(["silver", "gold"]),
    config_index=st.integers(0, len(ALWAYS_OPEN_CONFIGS) - 1),
)
def test_a_first_snapshot_on_an_always_open_calendar_plans_as_the_full_walk(
    updated: int, answered: int | None, status: str, priority: str, tier: str, config_index: int
) -> None:
    config = ALWAYS_OPEN_CONFIGS[config_index]
    snapshot = Snapshot(
        id="T-1",
        updated_at=T0 + timedelta(seconds=updated),
        priority=priority,
        customer_tier=tier,
        created_at=T0,
        status=status,
        first_response_at=None if answered is None else T0 + timedelta(seconds=answered),
    )

    walked = planning.plan_clocks_in_full(snapshot, [snapshot], config, TWENTY_FOUR_SEVEN)

    assert planning.first_snapshot_clocks(snapshot, config) == walked
    assert planning.plan_clocks(snapshot, [snapshot], config) == walked
