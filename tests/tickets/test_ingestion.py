"""Any order of delivery, with duplicates and any batching, converges to the same state."""

import asyncio
import threading
import time
from datetime import datetime, timedelta
from typing import Any, cast

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.kit import database
from api.kit.statuses import STATUS_ORDER
from api.kit.steps import run_steps_async
from api.models import Ticket
from api.sla import state
from api.sla_config.loader import parse_text
from api.sla_config.store import ActiveConfig
from api.tickets.ingestion import IngestReport, claim_steps, claimed_report, ingest_steps
from api.tickets.schemas import SnapshotIn
from tests.builders import apply_batch, ingest_counting_round_trips, run_pass, snapshot, wait_for
from tests.conftest import SEED_CONFIG, T0
from tests.strategies import deliveries, ticket_histories

SEED = parse_text(SEED_CONFIG).config

NOW = T0 + timedelta(hours=12)


def _reset(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(
            text(
                "TRUNCATE notification_deliveries, sla_events, event_counts, ticket_snapshots, tickets RESTART IDENTITY"
            )
        )
        session.commit()


def _state(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """Everything a client can observe, except the instants at which things were received."""
    with sessions() as session:
        tickets = {
            ticket.id: {
                **{
                    column: getattr(ticket, column)
                    for column in (c.key for c in Ticket.__table__.columns)
                    if column not in {"received_at", "events_recorded", "next_check_at", "sla_state", "breached_clocks"}
                },
                "sla_state": state.ticket_sla_state(ticket, NOW),
                "clocks": state.clock_views(ticket, NOW, SEED),
            }
            for ticket in session.query(Ticket)
        }
        history = session.execute(
            text(
                "SELECT ticket_id, updated_at, priority, customer_tier, created_at, status, first_response_at "
                "FROM ticket_snapshots ORDER BY ticket_id, updated_at"
            )
        ).all()
        events = session.execute(
            text(
                "SELECT ticket_id, clock, kind, due_at, detected_at, target_seconds, priority, customer_tier "
                "FROM sla_events ORDER BY ticket_id, clock, kind"
            )
        ).all()
    return {"tickets": tickets, "history": history, "events": events}


def _deliver(sessions: sessionmaker[Session], active: ActiveConfig, batches: list[list[SnapshotIn]]) -> dict[str, Any]:
    _reset(sessions)
    received = T0
    for batch in batches:
        received += timedelta(seconds=1)
        apply_batch(sessions, active, batch, now=received)
    run_pass(sessions, now=NOW)
    return _state(sessions)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_delivery_order_with_duplicates_and_batching_converges(
    sessions: sessionmaker[Session], active: ActiveConfig, data: st.DataObject
) -> None:
    snapshots = data.draw(ticket_histories())
    reference = _deliver(sessions, active, [snapshots])
    shuffled = _deliver(sessions, active, data.draw(deliveries(snapshots)))
    assert shuffled == reference


def test_the_current_state_is_never_written_backwards(sessions: sessionmaker[Session], active: ActiveConfig) -> None:
    newer = snapshot("T-1", created_at=T0, updated_at=T0 + timedelta(hours=2), status="resolved")
    older = snapshot("T-1", created_at=T0, updated_at=T0 + timedelta(hours=1), status="in_progress")

    first = apply_batch(sessions, active, [newer], now=T0)
    second = apply_batch(sessions, active, [older], now=T0)

    assert [r["outcome"] for r in first.results + second.results] == ["created", "stale"]
    with sessions() as session:
        ticket = session.get(Ticket, "T-1")
        assert ticket is not None
        assert (ticket.status, ticket.updated_at) == ("resolved", T0 + timedelta(hours=2))
        # The late in_progress still stopped the response clock at its own instant.
        assert ticket.response_elapsed_us == 3600 * 1_000_000


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_two_versions_of_one_instant_keep_the_later_status_whatever_arrives_first(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    pending = snapshot("T-1", created_at=T0, updated_at=_at(5), status="pending")
    progress = snapshot("T-1", created_at=T0, updated_at=_at(5), status="in_progress")

    for order, expected in (([pending, progress], "conflict"), ([progress, pending], "updated")):
        _reset(sessions)
        apply_batch(sessions, active, [order[0]], now=T0)
        result = apply_batch(sessions, active, [order[1]], now=T0)
        assert result.results[0]["outcome"] == expected
        with sessions() as session:
            ticket = session.get(Ticket, "T-1")
            assert ticket is not None
            assert ticket.status == "pending"


def test_a_batch_waiting_on_a_concurrent_creation_of_its_ticket_keeps_both_snapshots(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    from api.tickets import service

    first = snapshot("race", created_at=T0, updated_at=T0 + timedelta(minutes=1))
    second = snapshot("race", created_at=T0, updated_at=T0 + timedelta(minutes=2), status="in_progress")
    holder = sessions()
    service.ingest(holder, snapshots=[first], active=active, now=T0)  # created, not yet committed
    outcome: list[Any] = []

    def other_batch() -> None:
        with sessions() as session:
            outcome.append(service.ingest(session, snapshots=[second], active=active, now=T0))
            session.commit()

    racer = threading.Thread(target=other_batch)
    racer.start()
    time.sleep(0.5)  # the racer now waits on the uncommitted ticket
    holder.commit()
    holder.close()
    racer.join(timeout=10)

    assert [r["outcome"] for r in outcome[0].results] == ["updated"]
    with sessions() as session:
        ticket = session.get(Ticket, "race")
        assert ticket is not None
        assert ticket.status == "in_progress"
        assert session.execute(text("SELECT count(*) FROM ticket_snapshots WHERE ticket_id = 'race'")).scalar() == 2


async def _alone_while_another_creates(database_url: str, active: ActiveConfig) -> tuple[IngestReport, bool]:
    """Hold a new ticket uncommitted; send one newer snapshot of it to CLAIM on its own; then commit."""
    holder = await psycopg.AsyncConnection.connect(database.libpq_url(database_url))
    waiter = await psycopg.AsyncConnection.connect(database.libpq_url(database_url), autocommit=True)
    try:
        first = snapshot("race", created_at=T0, updated_at=_at(1))
        await run_steps_async(holder, ingest_steps([first, snapshot("other", created_at=T0)], active, T0))
        second = snapshot("race", created_at=T0, updated_at=_at(2), status="in_progress")
        alone = asyncio.create_task(run_steps_async(waiter, claim_steps([second], active, T0, None)))
        await asyncio.sleep(0.5)
        waited = not alone.done()
        await holder.commit()
        report = claimed_report([second], await asyncio.wait_for(alone, timeout=10))
        assert report is not None
        return report, waited
    finally:
        await holder.close()
        await waiter.close()


REFUSE_LATE_HISTORY = """
    CREATE FUNCTION refuse_late_history() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.ticket_id = 'late' AND NEW.status = 'pending' THEN RAISE EXCEPTION 'refused for the test'; END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_late_history BEFORE INSERT ON ticket_snapshots
        FOR EACH ROW EXECUTE FUNCTION refuse_late_history();
"""


async def _ingest_refused(database_url: str, active: ActiveConfig, batch: list[SnapshotIn]) -> str:
    from api.tickets import service

    async with await psycopg.AsyncConnection.connect(database.libpq_url(database_url)) as connection:
        with pytest.raises(psycopg.errors.RaiseException) as refused:
            await service.ingest_async(connection, snapshots=batch, active=active, now=T0)
        await connection.rollback()
    return str(refused.value)


def test_a_batch_whose_last_write_fails_with_its_commit_leaves_nothing_of_itself(
    sessions: sessionmaker[Session], active: ActiveConfig, database_url: str
) -> None:
    stored = snapshot("late", created_at=T0, updated_at=_at(30), status="in_progress")
    apply_batch(sessions, active, [stored], now=T0)
    before = _state(sessions)
    with sessions() as session:
        session.execute(text(REFUSE_LATE_HISTORY))
        session.commit()
    try:
        # "new" is done whole by CLAIM; the late snapshot goes to the last write, sent with the COMMIT.
        batch = [snapshot("new", created_at=T0), snapshot("late", created_at=T0, updated_at=_at(10), status="pending")]
        message = asyncio.run(_ingest_refused(database_url, active, batch))
    finally:
        with sessions() as session:
            session.execute(text("DROP TRIGGER refuse_late_history ON ticket_snapshots"))
            session.execute(text("DROP FUNCTION refuse_late_history()"))
            session.commit()

    assert "refused for the test" in message
    assert _state(sessions) == before


def test_a_snapshot_alone_waits_for_a_concurrent_creation_and_moves_the_ticket_on(
    sessions: sessionmaker[Session], active: ActiveConfig, database_url: str
) -> None:
    report, waited = asyncio.run(_alone_while_another_creates(database_url, active))

    assert [r["outcome"] for r in report.results] == ["updated"]
    assert waited
    with sessions() as session:
        ticket = session.get(Ticket, "race")
        assert ticket is not None
        assert (ticket.status, ticket.response_phase, ticket.response_stopped_at) == ("in_progress", "stopped", _at(2))
        assert session.execute(text("SELECT count(*) FROM ticket_snapshots WHERE ticket_id = 'race'")).scalar() == 2


def test_concurrent_overlapping_batches_end_as_if_sent_one_after_another(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    snapshots = [
        snapshot(f"C-{n % 40}", created_at=T0, updated_at=T0 + timedelta(minutes=n), status=STATUS_ORDER[n % 4])
        for n in range(400)
    ]
    batches = [snapshots[start::8] for start in range(8)]
    errors: list[BaseException] = []

    def send(batch: list[SnapshotIn]) -> None:
        try:
            with sessions() as session:
                from api.tickets import service

                service.ingest(session, snapshots=batch, active=active, now=T0)
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    concurrent = _state(sessions)

    sequential = _deliver(sessions, active, [snapshots])
    assert sequential["tickets"] == concurrent["tickets"]
    assert sequential["history"] == concurrent["history"]


def test_one_snapshot_object_sent_twice_in_a_batch_is_unchanged_the_second_time(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    first = snapshot("twice", created_at=T0, updated_at=_at(1))
    later = snapshot("twice", created_at=T0, updated_at=_at(2), status="in_progress")

    report = apply_batch(sessions, active, [first, later, first], now=T0)

    assert [r["outcome"] for r in report.results] == ["created", "updated", "unchanged"]


WAITED_FOR = {
    # A moves the ticket on; B's late snapshot must be decided against A's row, not the one B first saw.
    "moved on meanwhile": (
        [("open", 0)],
        [("in_progress", 30)],
        [("pending", 20)],
    ),
    # A creates the ticket: B's CLAIM cannot see it at all and reads it afterwards.
    "created meanwhile": (
        [],
        [("in_progress", 30)],
        [("pending", 20)],
    ),
    # A writes a late snapshot: the history B's CLAIM could see lacks it, so B reads the history again.
    "history grown meanwhile": (
        [("open", 0), ("in_progress", 30)],
        [("pending", 10)],
        [("in_progress", 20)],
    ),
}


def _batch(changes: list[tuple[str, int]]) -> list[SnapshotIn]:
    return [snapshot("W-1", created_at=T0, updated_at=_at(minute), status=status) for status, minute in changes]


def _lock_waiters(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        return int(session.execute(text(query)).scalar_one())


async def _ingest_on_its_own_connection(database_url: str, active: ActiveConfig, batch: list[SnapshotIn]) -> None:
    from api.tickets import service

    async with await psycopg.AsyncConnection.connect(database.libpq_url(database_url)) as connection:
        await service.ingest_async(connection, snapshots=batch, active=active, now=T0)


@pytest.mark.parametrize("driver", ["blocking", "asyncio"])
@pytest.mark.parametrize("case", list(WAITED_FOR))
def test_a_batch_that_waited_for_another_works_from_what_that_one_committed(
    sessions: sessionmaker[Session], active: ActiveConfig, database_url: str, case: str, driver: str
) -> None:
    stored, holding, waiting = (_batch(changes) for changes in WAITED_FOR[case])
    sequential = _deliver(sessions, active, [batch for batch in (stored, holding, waiting) if batch])

    _reset(sessions)
    if stored:
        apply_batch(sessions, active, stored, now=T0)
    errors: list[BaseException] = []

    def send_waiting() -> None:
        # The asyncio driver sends CLAIM and READ_LOCKED in one round trip, as POST /tickets does.
        try:
            if driver == "asyncio":
                asyncio.run(_ingest_on_its_own_connection(database_url, active, waiting))
            else:
                apply_batch(sessions, active, waiting, now=T0)
        except BaseException as exc:
            errors.append(exc)

    with sessions() as session:
        from api.tickets import service

        service.ingest(session, snapshots=holding, active=active, now=T0)  # holds its locks until the commit
        sender = threading.Thread(target=send_waiting)
        sender.start()
        wait_for(lambda: _lock_waiters(sessions) == 1)
        session.commit()
    sender.join(timeout=30)
    assert errors == []
    run_pass(sessions, now=NOW)
    assert _state(sessions) == sequential


def test_a_claim_on_its_own_reports_only_a_batch_it_did_whole(active: ActiveConfig) -> None:
    batch = [snapshot("T-1", created_at=T0, updated_at=_at(5), status="in_progress")]
    other = [snapshot("T-2", created_at=T0, updated_at=_at(5))]

    steps = claim_steps([*batch, *other], active, T0, None)
    next(steps)
    with pytest.raises(StopIteration) as stopped:
        steps.send([[("T-1", True, None)]])  # CLAIM did T-1 whole and only locked T-2
    done = stopped.value.value
    assert done == {"T-1": True}
    created = claimed_report(batch, done)
    assert created is not None
    assert [result["outcome"] for result in created.results] == ["created"]
    assert claimed_report(other, done) is None
    assert claimed_report([*batch, *other], done) is None


def _read_locked_kinds(sessions: sessionmaker[Session], active: ActiveConfig, batch: list[SnapshotIn]) -> list[str]:
    """What READ_LOCKED answers for a batch, row by row: a stored row, or one snapshot of a history."""
    with sessions() as session:
        connection = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
        by_key_only, claim, read_locked = next(ingest_steps(batch, active, T0))
        connection.execute(*by_key_only)
        connection.execute(*claim)
        kinds = [row[0] for row in connection.execute(*read_locked).fetchall()]
        session.rollback()
    return sorted(kinds, reverse=True)


def test_a_repeat_of_the_newest_snapshot_is_known_unchanged_without_reading_the_history(
    sessions: sessionmaker[Session], active: ActiveConfig
) -> None:
    first = snapshot("T-1", created_at=T0, updated_at=_at(5), status="in_progress")
    newest = snapshot("T-1", created_at=T0, updated_at=_at(9), status="pending")
    apply_batch(sessions, active, [first, newest], now=T0)
    # Only the older repeat has its history (both snapshots) read.
    assert _read_locked_kinds(sessions, active, [newest, newest]) == ["stored"]
    assert _read_locked_kinds(sessions, active, [first]) == ["stored", "history", "history"]

    repeated, repeated_trips = ingest_counting_round_trips(sessions, active, [newest, newest])
    older, older_trips = ingest_counting_round_trips(sessions, active, [first])
    later = snapshot("T-1", created_at=T0, updated_at=_at(12), status="resolved")
    moved, moved_trips = ingest_counting_round_trips(sessions, active, [newest, later])

    # CLAIM and, in the same round trip, the stored row (with the history for an older repeat); a
    # repeat beside a newer snapshot moves the clocks on from the stored row and writes it.
    assert ([r["outcome"] for r in repeated.results], repeated_trips) == (["unchanged", "unchanged"], 1)
    assert ([r["outcome"] for r in older.results], older_trips) == (["unchanged"], 1)
    assert ([r["outcome"] for r in moved.results], moved_trips) == (["unchanged", "updated"], 2)
    with sessions() as session:
        ticket = session.get(Ticket, "T-1")
        assert ticket is not None
        # Paused (pending) from minute 9 until resolved: nine minutes counted.
        assert (ticket.status, ticket.resolution_phase, ticket.resolution_elapsed_us) == ("resolved", "stopped", 540e6)
