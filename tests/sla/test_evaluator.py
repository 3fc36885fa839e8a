"""Several evaluators on one database: one leads, none duplicates, another takes over, all are prompt.

These tests run on the real clock: they check the wake-up path, which is about real time.
"""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.kit import database
from api.kit.statuses import OPEN_STATUS_SQL
from api.models import SlaEvent, Ticket
from api.models.tickets import CLOCK_COLUMNS
from api.sla import passes, replay, walk
from api.sla.evaluator import Evaluator
from api.sla_config.store import ConfigStore
from tests.builders import apply_batch, events, snapshot, wait_for
from tests.conftest import SEED_CONFIG

RESPONSE_ALERT = timedelta(seconds=765)  # high/gold in the seed config
STALE_OPEN = text(f"SELECT count(*) FROM tickets WHERE config_version <> :v AND {OPEN_STATUS_SQL}")


def event_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(SlaEvent)) or 0


@pytest.fixture
def start_evaluator(
    database_url: str, sessions: sessionmaker[Session], config_store: ConfigStore
) -> Iterator[Callable[[], Evaluator]]:
    started: list[Evaluator] = []

    def start() -> Evaluator:
        evaluator = Evaluator(
            database_url=database.libpq_url(database_url),
            sessions=sessions,
            store=config_store,
            sweep_interval_seconds=60.0,
            leader_retry_seconds=0.2,
        )
        evaluator.start()
        started.append(evaluator)
        return evaluator

    yield start
    for evaluator in started:
        evaluator.stop()


def test_exactly_one_of_two_evaluators_leads_and_events_are_never_duplicated(
    sessions: sessionmaker[Session], config_store: ConfigStore, start_evaluator: Callable[[], Evaluator]
) -> None:
    first, second = start_evaluator(), start_evaluator()
    wait_for(lambda: first.is_leader or second.is_leader, timeout=5)
    time.sleep(0.5)
    assert [first.is_leader, second.is_leader].count(True) == 1

    long_ago = datetime.now(UTC) - timedelta(hours=2)
    apply_batch(
        sessions, config_store.active, [snapshot(f"T-{n}", created_at=long_ago) for n in range(300)], now=long_ago
    )
    wait_for(lambda: event_count(sessions) == 600, timeout=10)

    time.sleep(0.5)
    keys = [(e.ticket_id, e.clock, e.kind) for e in events(sessions)]
    assert len(keys) == len(set(keys)) == 600


def test_passes_racing_on_the_same_due_tickets_record_each_event_once(
    sessions: sessionmaker[Session], config_store: ConfigStore
) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    apply_batch(
        sessions, config_store.active, [snapshot(f"T-{n}", created_at=long_ago) for n in range(2000)], now=long_ago
    )
    now = datetime.now(UTC)
    recorded: list[int] = []
    barrier = threading.Barrier(4)

    def race() -> None:
        barrier.wait()
        total = 0
        with sessions() as session:
            while True:
                result = passes.record_chunk(session, now=now, limit=100)
                session.commit()
                total += result.recorded
                if result.examined == 0:
                    break
        recorded.append(total)

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(recorded) == 4000
    assert event_count(sessions) == 4000


def test_a_standby_takes_over_within_seconds_when_the_leader_stops(
    sessions: sessionmaker[Session], config_store: ConfigStore, start_evaluator: Callable[[], Evaluator]
) -> None:
    first = start_evaluator()
    wait_for(lambda: first.is_leader, timeout=5)
    second = start_evaluator()
    time.sleep(0.5)
    assert not second.is_leader

    first.stop()
    took = wait_for(lambda: second.is_leader, timeout=5)
    assert took < 3

    long_ago = datetime.now(UTC) - timedelta(hours=2)
    apply_batch(sessions, config_store.active, [snapshot("after-failover", created_at=long_ago)], now=long_ago)
    wait_for(lambda: event_count(sessions) == 2, timeout=5)


def test_an_alert_is_recorded_within_a_second_of_falling_due_without_waiting_for_the_sweep(
    sessions: sessionmaker[Session], config_store: ConfigStore, start_evaluator: Callable[[], Evaluator]
) -> None:
    leader = start_evaluator()
    wait_for(lambda: leader.is_leader, timeout=5)
    time.sleep(0.3)

    # Posted through another connection, as another API process would: the leader learns of it by NOTIFY.
    due_in = timedelta(seconds=1.5)
    created = datetime.now(UTC) - RESPONSE_ALERT + due_in
    apply_batch(sessions, config_store.active, [snapshot("soon", created_at=created)], now=datetime.now(UTC))
    wait_for(lambda: event_count(sessions) == 1, timeout=10)

    (alert,) = events(sessions)
    assert alert.kind == "alert"
    assert alert.due_at == created + RESPONSE_ALERT
    assert timedelta(0) <= alert.detected_at - alert.due_at < timedelta(seconds=1)


def test_a_stream_of_thresholds_falling_due_is_recorded_each_within_a_second_even_with_slow_passes(
    sessions: sessionmaker[Session],
    config_store: ConfigStore,
    start_evaluator: Callable[[], Evaluator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Passes as slow as over a million tickets, so wake-ups keep arriving while one runs.
    record_due = passes.record_due

    def slow_record_due(sessions: sessionmaker[Session], **arguments: Any) -> int:
        time.sleep(0.3)
        return record_due(sessions, **arguments)

    monkeypatch.setattr(passes, "record_due", slow_record_due)
    leader = start_evaluator()
    wait_for(lambda: leader.is_leader, timeout=5)
    now = datetime.now(UTC)
    # 300 response alerts falling due over 3 seconds, starting 1.5 s from now.
    batch = [snapshot(f"S-{n}", created_at=now - RESPONSE_ALERT + timedelta(seconds=1.5 + n / 100)) for n in range(300)]
    apply_batch(sessions, config_store.active, batch, now=now)

    wait_for(lambda: event_count(sessions) == 300, timeout=15)

    lateness = [event.detected_at - event.due_at for event in events(sessions)]
    assert min(lateness) >= timedelta(0)
    assert max(lateness) < timedelta(seconds=1)


def test_a_config_walk_racing_writers_of_the_same_tickets_ends_as_a_replay_from_history(
    sessions: sessionmaker[Session],
    config_store: ConfigStore,
    start_evaluator: Callable[[], Evaluator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small chunks, so that the walk and the writers interleave many times.
    monkeypatch.setattr(walk, "move_chunk", partial(walk.move_chunk, limit=97))
    now = datetime.now(UTC)
    ids = [f"R-{n:04d}" for n in range(2000)]
    apply_batch(sessions, config_store.active, [snapshot(i, created_at=now - timedelta(hours=1)) for i in ids], now=now)
    leader = start_evaluator()
    wait_for(lambda: leader.is_leader, timeout=5)

    stop = threading.Event()

    def write() -> None:
        step = 0
        while not stop.is_set():
            step += 1
            batch = [
                snapshot(
                    i, created_at=now - timedelta(hours=1), updated_at=now + timedelta(seconds=step), status=status
                )
                for i, status in zip(ids[step % 7 :: 7], ["in_progress", "pending"] * 200, strict=False)
            ]
            apply_batch(sessions, config_store.active, batch, now=now)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        config_store.path.write_text(SEED_CONFIG.replace("86400", "600").replace("3600", "60"))
        assert config_store.reload()
        version = config_store.active.version

        def all_moved() -> bool:
            with sessions() as session:
                return bool(session.scalar(STALE_OPEN, {"v": version}) == 0)

        wait_for(all_moved, timeout=30)
    finally:
        stop.set()
        writer.join()
    wait_for(all_moved, timeout=30)

    columns = [*CLOCK_COLUMNS, "config_version"]

    def clocks() -> dict[str, tuple[object, ...]]:
        with sessions() as session:
            return {t.id: tuple(getattr(t, c) for c in columns) for t in session.query(Ticket)}

    walked = clocks()
    with sessions() as session:
        replay.replay(session, ticket_ids=ids, active=config_store.active, now=datetime.now(UTC))
        session.commit()
    assert walked == clocks()
