"""Single-snapshot requests that arrive together share one CLAIM, and each ends as if it had been sent alone."""

import asyncio
import json
import random
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.kit import database, metrics
from api.kit.statuses import STATUS_ORDER
from api.kit.steps import run_steps_async
from api.main import create_app
from api.sla_config.store import ActiveConfig
from api.tickets.coalescing import ClaimQueue
from api.tickets.ingestion import IngestReport, ingest_steps
from api.tickets.schemas import SnapshotIn
from tests.builders import apply_batch, snapshot, snapshot_json
from tests.conftest import ADMIN_HEADERS, T0, FrozenClock, make_settings

GROUPS = "sla_snapshot_group_requests"


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _groups() -> tuple[float, float]:
    """How many shared CLAIMs this process ran so far, and how many requests they carried."""
    count = metrics.REGISTRY.get_sample_value(f"{GROUPS}_count") or 0.0
    total = metrics.REGISTRY.get_sample_value(f"{GROUPS}_sum") or 0.0
    return count, total


def _outcomes(report: IngestReport | None) -> list[str] | None:
    return None if report is None else [result["outcome"] for result in report.results]


async def _until_a_statement_waits_for_a_lock(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database.libpq_url(database_url), autocommit=True) as watcher:
        for _ in range(200):
            cursor = await watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if (await cursor.fetchone()) != (0,):
                return
            await asyncio.sleep(0.05)
    raise AssertionError("no statement came to wait for the lock")


@asynccontextmanager
async def _queue_blocked_on_held(
    database_url: str, active: ActiveConfig, lock_timeout_ms: int
) -> AsyncIterator[tuple[psycopg.AsyncConnection[Any], ClaimQueue, "asyncio.Task[IngestReport | None]"]]:
    """Ticket "held" created by an uncommitted transaction, and a queued snapshot of it waiting on its lock."""
    holder = await psycopg.AsyncConnection.connect(database.libpq_url(database_url))
    queue = ClaimQueue(database_url, lock_timeout_ms=lock_timeout_ms)
    await queue.open()
    try:
        await run_steps_async(holder, ingest_steps([snapshot("held", created_at=T0, updated_at=_at(1))], active, T0))
        held = [snapshot("held", created_at=T0, updated_at=_at(2), status="in_progress")]
        first = asyncio.create_task(queue.claim(held, active, "tool"))
        await _until_a_statement_waits_for_a_lock(database_url)
        yield holder, queue, first
    finally:
        await holder.close()
        await queue.close()


async def _queued_behind_a_lock(database_url: str, active: ActiveConfig) -> dict[str, list[str] | None]:
    """Queue more requests behind the CLAIM waiting on "held"; then release it."""
    async with _queue_blocked_on_held(database_url, active, lock_timeout_ms=60_000) as (holder, queue, first):
        requests = {f"new {n}": [snapshot(f"N-{n}", created_at=T0)] for n in range(5)}
        requests["older than stored"] = [snapshot("stored", created_at=T0, updated_at=_at(5))]
        requests["held, later"] = [snapshot("held", created_at=T0, updated_at=_at(3), status="pending")]
        requests["fresh, first"] = [snapshot("fresh", created_at=T0, updated_at=_at(1))]
        requests["fresh, later"] = [snapshot("fresh", created_at=T0, updated_at=_at(2), status="in_progress")]
        later = {name: asyncio.create_task(queue.claim(batch, active, "tool")) for name, batch in requests.items()}
        await asyncio.sleep(0.2)
        assert not first.done()
        assert not any(task.done() for task in later.values())
        await holder.commit()
        answers = {"held, first": await asyncio.wait_for(first, timeout=10)}
        answers |= {name: await asyncio.wait_for(task, timeout=10) for name, task in later.items()}
        return {name: _outcomes(report) for name, report in answers.items()}


def test_requests_that_arrive_while_a_claim_runs_share_the_next_one(
    sessions: sessionmaker[Session], active: ActiveConfig, database_url: str
) -> None:
    apply_batch(sessions, active, [snapshot("stored", created_at=T0, updated_at=_at(10), status="in_progress")], now=T0)
    groups_before, requests_before = _groups()

    outcomes = asyncio.run(_queued_behind_a_lock(database_url, active))

    assert outcomes == {
        "held, first": ["updated"],
        **{f"new {n}": ["created"] for n in range(5)},
        "older than stored": None,  # CLAIM only locked it: the request applies it in a transaction of its own
        "held, later": ["updated"],  # a ticket already in flight waited for the next CLAIM
        "fresh, first": ["created"],
        "fresh, later": ["updated"],  # one already in the group, too
    }
    groups_after, requests_after = _groups()
    assert (groups_after - groups_before, requests_after - requests_before) == (3, 10)
    with sessions() as session:
        rows = session.execute(text("SELECT id, status FROM tickets ORDER BY id")).all()
        history = session.execute(text("SELECT ticket_id, count(*) FROM ticket_snapshots GROUP BY 1 ORDER BY 1")).all()
    assert [tuple(row) for row in rows] == [
        ("N-0", "open"),
        ("N-1", "open"),
        ("N-2", "open"),
        ("N-3", "open"),
        ("N-4", "open"),
        ("fresh", "in_progress"),
        ("held", "pending"),
        ("stored", "in_progress"),
    ]
    assert dict(history) == {
        **{f"N-{n}": 1 for n in range(5)},
        "fresh": 2,
        "held": 3,
        "stored": 1,
    }


async def _behind_a_lock_held_elsewhere(database_url: str, active: ActiveConfig) -> tuple[list[str] | None, ...]:
    """Queue a new ticket behind the CLAIM waiting on "held"; both answered while "held" stays locked."""
    async with _queue_blocked_on_held(database_url, active, lock_timeout_ms=200) as (_, queue, blocked):
        behind = asyncio.create_task(queue.claim([snapshot("other", created_at=T0)], active, "tool"))
        answers = await asyncio.wait_for(asyncio.gather(blocked, behind), timeout=10)
        return tuple(_outcomes(report) for report in answers)


def test_a_lock_held_elsewhere_holds_up_the_queue_for_its_timeout_only(
    sessions: sessionmaker[Session], active: ActiveConfig, database_url: str
) -> None:
    # Both are answered while the lock is still held: the locked one is left to run on its own.
    assert asyncio.run(_behind_a_lock_held_elsewhere(database_url, active)) == (None, ["created"])
    with sessions() as session:
        assert session.execute(text("SELECT id FROM tickets")).scalars().all() == ["other"]


async def _claim_failing_for_one(database_url: str, active: ActiveConfig) -> dict[str, list[str] | None]:
    queue = ClaimQueue(database_url)
    await queue.open()
    try:
        batches = {name: [snapshot(name, created_at=T0)] for name in ("fine", "refused", "also fine")}
        tasks = {name: asyncio.create_task(queue.claim(batch, active, "tool")) for name, batch in batches.items()}
        answers: dict[str, list[str] | None] = {}
        for name, task in tasks.items():
            try:
                answers[name] = _outcomes(await asyncio.wait_for(task, timeout=10))
            except psycopg.Error as error:
                answers[name] = [type(error).__name__]
        return answers
    finally:
        await queue.close()


REFUSE_ONE_TICKET = """
    CREATE FUNCTION refuse_one_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.ticket_id = 'refused' THEN RAISE EXCEPTION 'refused for the test'; END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_one_ticket BEFORE INSERT ON ticket_snapshots
        FOR EACH ROW EXECUTE FUNCTION refuse_one_ticket();
"""


@pytest.fixture
def one_ticket_refused(sessions: sessionmaker[Session]) -> Iterator[None]:
    """Ticket "refused" cannot be written while the test runs."""
    with sessions() as session:
        session.execute(text(REFUSE_ONE_TICKET))
        session.commit()
    yield
    with sessions() as session:
        session.execute(text("DROP TRIGGER refuse_one_ticket ON ticket_snapshots"))
        session.execute(text("DROP FUNCTION refuse_one_ticket()"))
        session.commit()


@pytest.mark.usefixtures("one_ticket_refused")
def test_a_shared_claim_that_fails_leaves_each_request_to_run_on_its_own(
    sessions: sessionmaker[Session], active: ActiveConfig, database_url: str
) -> None:
    groups_before, requests_before = _groups()

    answers = asyncio.run(_claim_failing_for_one(database_url, active))

    # Queued in one turn of the loop, the three shared a CLAIM; it failed and wrote nothing, and each
    # request is told to run on its own.
    groups_after, requests_after = _groups()
    assert (groups_after - groups_before, requests_after - requests_before) == (1, 3)
    assert answers == {"fine": None, "refused": None, "also fine": None}
    with sessions() as session:
        assert session.execute(text("SELECT count(*) FROM tickets")).scalar() == 0


@pytest.mark.usefixtures("one_ticket_refused")
def test_a_snapshot_that_cannot_be_written_fails_only_its_own_request_among_concurrent_ones(
    sessions: sessionmaker[Session], database_url: str, config_path: Path
) -> None:
    names = ["refused", *(f"fine-{n}" for n in range(5))]
    app = create_app(make_settings(database_url, config_path))
    with (
        TestClient(app, headers=ADMIN_HEADERS, raise_server_exceptions=False) as client,
        ThreadPoolExecutor(max_workers=6) as pool,
    ):

        def post(name: str) -> int:
            return int(client.post("/tickets", json=snapshot_json(name, created_at=T0)).status_code)

        statuses = dict(zip(names, pool.map(post, names), strict=True))

    assert statuses == {"refused": 500, **dict.fromkeys(names[1:], 200)}
    with sessions() as session:
        ids = session.execute(text("SELECT id FROM tickets ORDER BY id")).scalars().all()
    assert ids == [f"fine-{n}" for n in range(5)]


def _state(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with sessions() as session:
        tickets = session.execute(
            text(
                "SELECT id, status, updated_at, response_phase, response_due_at, resolution_phase, "
                "resolution_elapsed_us, resolution_due_at, sla_state, next_check_at FROM tickets ORDER BY id"
            )
        ).all()
        history = session.execute(
            text("SELECT ticket_id, updated_at, status FROM ticket_snapshots ORDER BY ticket_id, updated_at")
        ).all()
    return {"tickets": [tuple(row) for row in tickets], "history": [tuple(row) for row in history]}


@pytest.mark.parametrize("seed", [1, 2])
def test_concurrent_single_snapshots_end_as_if_sent_one_after_another(
    client: TestClient, sessions: sessionmaker[Session], active: ActiveConfig, frozen_clock: FrozenClock, seed: int
) -> None:
    bodies = [
        snapshot_json(f"S-{n % 12}", created_at=T0, updated_at=T0 + timedelta(minutes=n), status=STATUS_ORDER[n % 4])
        for n in range(120)
    ]
    random.Random(seed).shuffle(bodies)
    _, requests_before = _groups()

    def post(body: dict[str, Any]) -> tuple[int, list[str]]:
        answer = client.post("/tickets", json=body)
        return answer.status_code, [result["outcome"] for result in answer.json()["results"]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, bodies))

    assert [status for status, _ in answers] == [200] * len(bodies)
    # Each ticket was created once; every other snapshot of it (all at distinct instants) moved it on or was late.
    outcomes: dict[str, list[str]] = {}
    for body, (_, (outcome,)) in zip(bodies, answers, strict=True):
        outcomes.setdefault(body["id"], []).append(outcome)
    assert len(outcomes) == 12
    for found in outcomes.values():
        assert found.count("created") == 1
        assert set(found) <= {"created", "updated", "stale"}
    _, requests_after = _groups()
    assert requests_after - requests_before == len(bodies)  # every one went through the queue
    concurrent = _state(sessions)
    with sessions() as session:
        session.execute(text("TRUNCATE ticket_snapshots, tickets"))
        session.commit()
    apply_batch(sessions, active, [SnapshotIn.model_validate_json(json.dumps(body)) for body in bodies], now=T0)
    sequential = _state(sessions)
    assert concurrent == sequential
