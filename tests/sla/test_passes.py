"""The evaluation pass records each alert and breach once, at its true due instant."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api.sla import passes
from api.sla_config.store import ActiveConfig
from tests.builders import apply_batch, event_keys, events, minutes, run_pass, snapshot
from tests.conftest import T0, FrozenClock

# Seed config, high/gold: response 900 s (alert at 765 s), resolution 10,800 s (alert at 9,180 s).
RESPONSE_ALERT = timedelta(seconds=765)
RESPONSE_DUE = timedelta(seconds=900)
RESOLUTION_ALERT = timedelta(seconds=9180)
RESOLUTION_DUE = timedelta(seconds=10800)


def test_records_response_alert_then_breach_once_each_at_their_due_instants(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    apply_batch(sessions, active, [snapshot("T-1", created_at=T0)], now=T0)

    assert run_pass(sessions, now=T0 + RESPONSE_ALERT - timedelta(microseconds=1)) == 0
    assert run_pass(sessions, now=T0 + RESPONSE_ALERT) == 1
    assert run_pass(sessions, now=T0 + RESPONSE_ALERT + timedelta(seconds=30)) == 0
    assert run_pass(sessions, now=T0 + RESPONSE_DUE) == 1
    assert run_pass(sessions, now=T0 + RESPONSE_DUE + timedelta(hours=1)) == 0

    assert event_keys(sessions) == [
        ("T-1", "response", "alert", T0 + RESPONSE_ALERT),
        ("T-1", "response", "breach", T0 + RESPONSE_DUE),
    ]
    alert, breach = events(sessions)
    assert alert.detected_at == T0 + RESPONSE_ALERT
    assert (breach.target_seconds, breach.priority, breach.customer_tier) == (900, "high", "gold")
    assert breach.config_version == active.version


def test_records_resolution_alert_then_breach_at_their_due_instants(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    created = snapshot("T-1", created_at=T0)
    answered = snapshot("T-1", created_at=T0, updated_at=T0 + minutes(5), status="in_progress")
    apply_batch(sessions, active, [created, answered], now=T0 + minutes(5))

    run_pass(sessions, now=T0 + RESOLUTION_ALERT)
    run_pass(sessions, now=T0 + RESOLUTION_DUE)

    assert event_keys(sessions) == [
        ("T-1", "resolution", "alert", T0 + RESOLUTION_ALERT),
        ("T-1", "resolution", "breach", T0 + RESOLUTION_DUE),
    ]


def test_a_clock_stopped_before_its_threshold_never_fires(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    opened = snapshot("T-1", created_at=T0)
    answered = snapshot("T-1", created_at=T0, updated_at=T0 + minutes(10), status="in_progress")
    resolved = snapshot("T-1", created_at=T0, updated_at=T0 + minutes(60), status="resolved")
    apply_batch(sessions, active, [opened, answered, resolved], now=T0 + minutes(60))

    assert run_pass(sessions, now=T0 + timedelta(days=30)) == 0
    assert event_keys(sessions) == []


def test_first_response_at_stops_the_response_clock(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    answered = snapshot("T-1", created_at=T0, updated_at=T0 + minutes(20), first_response_at=T0 + minutes(13.5))
    apply_batch(sessions, active, [answered], now=T0 + minutes(20))

    run_pass(sessions, now=T0 + minutes(20))

    assert event_keys(sessions) == [("T-1", "response", "alert", T0 + RESPONSE_ALERT)]


def test_pending_pauses_the_resolution_clock_and_reopening_resumes_it(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    history = [
        snapshot("T-1", created_at=T0, status="in_progress"),
        snapshot("T-1", created_at=T0, updated_at=T0 + timedelta(hours=1), status="pending"),
        snapshot("T-1", created_at=T0, updated_at=T0 + timedelta(hours=5), status="open"),
    ]
    apply_batch(sessions, active, history, now=T0 + timedelta(hours=5))

    # One hour ran before the pause; the four paused hours do not count.
    run_pass(sessions, now=T0 + timedelta(hours=20))

    paused = timedelta(hours=4)
    assert event_keys(sessions) == [
        ("T-1", "resolution", "alert", T0 + RESOLUTION_ALERT + paused),
        ("T-1", "resolution", "breach", T0 + RESOLUTION_DUE + paused),
    ]


def test_a_paused_clock_does_not_fire_while_paused(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    history = [
        snapshot("T-1", created_at=T0, status="in_progress"),
        snapshot("T-1", created_at=T0, updated_at=T0 + timedelta(hours=2), status="pending"),
    ]
    apply_batch(sessions, active, history, now=T0 + timedelta(hours=2))

    assert run_pass(sessions, now=T0 + timedelta(days=7)) == 0


def test_a_ticket_first_seen_already_breached_gets_both_events_with_their_true_due_instants(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    late = T0 + timedelta(hours=2)
    apply_batch(sessions, active, [snapshot("T-1", created_at=T0, updated_at=T0 + minutes(1))], now=late)

    run_pass(sessions, now=late)

    assert event_keys(sessions) == [
        ("T-1", "response", "alert", T0 + RESPONSE_ALERT),
        ("T-1", "response", "breach", T0 + RESPONSE_DUE),
    ]
    assert {event.detected_at for event in events(sessions)} == {late}


def test_a_breach_in_a_finished_history_is_recorded_with_its_historical_instant(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    history = [
        snapshot("T-1", created_at=T0, updated_at=T0 + minutes(1), status="in_progress"),
        snapshot("T-1", created_at=T0, updated_at=T0 + timedelta(hours=4), status="resolved"),
    ]
    apply_batch(sessions, active, history, now=T0 + timedelta(days=1))
    run_pass(sessions, now=T0 + timedelta(days=1))

    assert event_keys(sessions) == [
        ("T-1", "resolution", "alert", T0 + RESOLUTION_ALERT),
        ("T-1", "resolution", "breach", T0 + RESOLUTION_DUE),
    ]


def test_the_first_pass_after_downtime_records_everything_that_fell_due_meanwhile(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    batch = [snapshot(f"T-{n}", created_at=T0 + minutes(n)) for n in range(50)]
    apply_batch(sessions, active, batch, now=T0)

    back_up = T0 + timedelta(hours=2)
    assert run_pass(sessions, now=back_up) == 100

    keys = event_keys(sessions)
    assert len(set(keys)) == 100
    for n in range(50):
        assert (f"T-{n}", "response", "breach", T0 + minutes(n) + RESPONSE_DUE) in keys


def test_a_stopping_pass_ends_after_its_chunk_and_the_next_records_the_rest_of_the_backlog(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    backlog = passes.RECORD_CHUNK * 2 + 500
    apply_batch(sessions, active, [snapshot(f"T-{n}", created_at=T0) for n in range(backlog)], now=T0)
    stopping = threading.Event()
    stopping.set()
    back_up = T0 + timedelta(hours=1)
    events_each = 2  # an hour on: the response alert and breach, nothing of the resolution yet

    assert passes.record_due(sessions, now=back_up, stopping=stopping) == passes.RECORD_CHUNK * events_each
    assert run_pass(sessions, now=back_up) == (backlog - passes.RECORD_CHUNK) * events_each
    assert len(set(event_keys(sessions))) == backlog * events_each


def test_events_are_an_append_only_log(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    apply_batch(sessions, active, [snapshot("T-1", created_at=T0)], now=T0)
    run_pass(sessions, now=T0 + timedelta(hours=1))

    for statement in ("UPDATE sla_events SET kind = 'alert'", "DELETE FROM sla_events"):
        with sessions() as session, pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
    assert len(events(sessions)) == 2


def test_an_event_is_recorded_once_even_when_the_deadline_moves_after_it(
    sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock
) -> None:
    apply_batch(sessions, active, [snapshot("T-1", created_at=T0, priority="high")], now=T0)
    run_pass(sessions, now=T0 + RESPONSE_ALERT)
    # Lowered to low/gold (3,600 s): the alert stays recorded, the breach moves to 3,600 s.
    lowered = snapshot("T-1", created_at=T0, updated_at=T0 + minutes(14), priority="low")
    apply_batch(sessions, active, [lowered], now=T0 + minutes(14))
    run_pass(sessions, now=T0 + timedelta(hours=2))

    assert event_keys(sessions) == [
        ("T-1", "response", "alert", T0 + RESPONSE_ALERT),
        ("T-1", "response", "breach", T0 + timedelta(seconds=3600)),
    ]
