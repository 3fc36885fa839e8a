"""The pure clock arithmetic, without a database."""

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.kit.statuses import STATUS_ORDER
from api.sla import policy
from api.sla.business_time import TWENTY_FOUR_SEVEN as ALWAYS
from api.sla_config.schema import clock_target
from tests.conftest import T0

PAUSE = frozenset({"pending"})

changes = st.lists(
    st.builds(
        policy.StatusChange,
        at=st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s)),
        status=st.sampled_from(STATUS_ORDER),
    ),
    max_size=8,
)


def running_time_until(progress: policy.ClockProgress, instant: datetime) -> int:
    """Running microseconds of a clock up to `instant`, summed segment by segment."""
    total = 0
    for start, end in progress.closed_segments:
        total += max(0, (min(end, instant) - start) // policy.MICROSECOND)
    if progress.running_since is not None and instant > progress.running_since:
        total += (instant - progress.running_since) // policy.MICROSECOND
    return total


@given(history=changes, threshold=st.integers(0, 20_000_000_000))
def test_a_clock_has_run_exactly_the_threshold_at_its_crossing(
    history: list[policy.StatusChange], threshold: int
) -> None:
    progress = policy.resolution_progress(T0, history, PAUSE)

    instant = policy.crossing(progress, threshold, ALWAYS)

    if instant is None:
        assert progress.running_since is None
        assert progress.elapsed_us(ALWAYS) < threshold
    else:
        assert running_time_until(progress, instant) == threshold


@given(history=changes, low=st.integers(0, 10**10), high=st.integers(0, 10**10))
def test_a_lower_threshold_never_falls_due_later(history: list[policy.StatusChange], low: int, high: int) -> None:
    low, high = sorted((low, high))
    progress = policy.resolution_progress(T0, history, PAUSE)

    earlier, later = policy.crossing(progress, low, ALWAYS), policy.crossing(progress, high, ALWAYS)

    if later is not None:
        assert earlier is not None
        assert earlier <= later


def test_the_alert_falls_due_when_the_threshold_share_of_the_target_is_left() -> None:
    target = clock_target(900, 0.15)

    assert target.alert_us == 765 * 1_000_000
    assert clock_target(7, 0.15).alert_us == 7_000_000 - 1_050_000


def test_reopening_resumes_where_the_clock_stopped() -> None:
    history = [
        policy.StatusChange(T0 + timedelta(hours=1), "resolved"),
        policy.StatusChange(T0 + timedelta(hours=3), "open"),
    ]

    progress = policy.resolution_progress(T0, history, PAUSE)

    assert progress.phase == "running"
    assert progress.elapsed_us(ALWAYS) == 3600 * 1_000_000
    assert progress.running_since == T0 + timedelta(hours=3)


def test_the_response_clock_stops_at_the_earliest_of_first_response_and_first_non_open_status() -> None:
    history = [
        policy.StatusChange(T0 + timedelta(minutes=30), "in_progress"),
        policy.StatusChange(T0 + timedelta(minutes=40), "open", first_response_at=T0 + timedelta(minutes=20)),
    ]

    progress = policy.response_progress(T0, history)

    assert progress.phase == "stopped"
    assert progress.elapsed_us(ALWAYS) == 20 * 60 * 1_000_000


def test_states_follow_the_due_instant_and_the_phase() -> None:
    due = T0 + timedelta(hours=1)

    assert policy.clock_state(phase="running", due_at=due, now=T0) == "running"
    assert policy.clock_state(phase="running", due_at=due, now=due) == "breached"
    assert policy.clock_state(phase="stopped", due_at=None, now=due) == "met"
    assert policy.clock_state(phase="paused", due_at=None, now=due) == "paused"
    assert policy.sla_state([("running", T0, due)], T0) == "at_risk"
    assert policy.sla_state([("stopped", T0, None)], due) == "ok"
    assert policy.sla_state([("stopped", T0, T0)], due) == "breached"
