"""Moving a ticket's clocks on from its stored summary equals replaying its whole history."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from api.kit.statuses import STATUS_ORDER
from api.sla import planning
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
