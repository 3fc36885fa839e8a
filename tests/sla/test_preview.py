"""POST /config/preview: what an edit would do to the open tickets, equal to what applying it then does."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.kit import clock
from api.models import Ticket
from api.sla import state, walk
from api.sla_config.store import ConfigStore
from tests.builders import post, run_pass, snapshot_json
from tests.conftest import SEED_CONFIG, T0, FrozenClock

YAML = {"content-type": "application/yaml"}
CALENDARS = """
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: "09:00-17:00"}
"""
CANDIDATES = [
    pytest.param(
        SEED_CONFIG.replace("{response: 900,  resolution: 10800}", "{response: 300, resolution: 3000}"), id="tighter"
    ),
    pytest.param(SEED_CONFIG.replace("resolution: 86400", "resolution: 900"), id="low-silver-resolution"),
    pytest.param(SEED_CONFIG.replace("response: 1800,", "response: 9000,"), id="looser"),
    pytest.param("alert_threshold: 0.6\n" + SEED_CONFIG, id="threshold"),
    pytest.param(SEED_CONFIG + CALENDARS + "calendar: office\n", id="business-hours"),
    pytest.param("pause_statuses: [pending, in_progress]\n" + SEED_CONFIG, id="pause-statuses"),
]


def seed_tickets(client: TestClient, frozen_clock: FrozenClock, sessions: sessionmaker[Session]) -> None:
    batch = []
    for number, (priority, tier) in enumerate(
        [("high", "gold"), ("high", "silver"), ("low", "silver"), ("low", "gold")]
    ):
        for minutes in (2, 12, 20, 40, 100, 400):
            created = T0 - timedelta(minutes=minutes)
            ticket = f"P-{number}-{minutes}"
            batch.append(snapshot_json(ticket, created_at=created, priority=priority, customer_tier=tier))
            if minutes % 20 == 0:
                batch.append(
                    snapshot_json(
                        ticket,
                        created_at=created,
                        updated_at=created + timedelta(minutes=1),
                        status="in_progress",
                        priority=priority,
                        customer_tier=tier,
                    )
                )
            if minutes == 100:
                batch.append(
                    snapshot_json(
                        ticket,
                        created_at=created,
                        updated_at=created + timedelta(minutes=5),
                        status="pending",
                        priority=priority,
                        customer_tier=tier,
                    )
                )
    frozen_clock.set(T0)
    assert post(client, batch).status_code == 200
    run_pass(sessions, now=T0)


def observed(sessions: sessionmaker[Session], store: ConfigStore) -> dict[str, tuple[Any, ...]]:
    with sessions() as session:
        return {
            ticket.id: (
                ticket.priority,
                ticket.customer_tier,
                tuple(
                    getattr(ticket, column)
                    for column in ("response_alert_at", "response_due_at", "resolution_alert_at", "resolution_due_at")
                ),
                state.ticket_sla_state(ticket, clock.utc_now()),
            )
            for ticket in session.query(Ticket)
            if ticket.status not in ("resolved", "closed")
        }


@pytest.mark.parametrize("candidate", CANDIDATES)
def test_the_preview_counts_what_applying_the_file_then_does(
    client: TestClient, frozen_clock: FrozenClock, sessions: sessionmaker[Session], candidate: str
) -> None:
    seed_tickets(client, frozen_clock, sessions)
    store: ConfigStore = client.app.state.config_store  # type: ignore[attr-defined]
    version = store.active.version
    before = observed(sessions, store)

    response = client.post("/config/preview", content=candidate, headers=YAML)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert store.active.version == version
    assert observed(sessions, store) == before

    store.path.write_text(candidate)
    assert store.reload()
    while True:
        with sessions() as session:
            moved = walk.move_chunk(session, active=store.active, now=clock.utc_now(), limit=1000)
            session.commit()
        if moved.next_after is None:
            break
    after = observed(sessions, store)

    changed = {key for key in before if before[key][2] != after[key][2]}
    expected = {
        "valid": True,
        "open_tickets": len(before),
        "deadlines_moved": len(changed),
        "newly_at_risk": sum(before[k][3] == "ok" and after[k][3] == "at_risk" for k in before),
        "newly_breached": sum(before[k][3] != "breached" and after[k][3] == "breached" for k in before),
        "no_longer_breached": sum(before[k][3] == "breached" and after[k][3] != "breached" for k in before),
    }
    assert {key: preview[key] for key in expected} == expected
    assert expected["deadlines_moved"] > 0
    segments = {(row["priority"], row["customer_tier"]): row for row in preview["by_priority_tier"]}
    for segment in {(value[0], value[1]) for value in before.values()}:
        keys = [key for key in before if before[key][:2] == segment]
        assert segments[segment]["open_tickets"] == len(keys)
        assert segments[segment]["deadlines_moved"] == len([key for key in keys if key in changed])


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ("low: [", "invalid YAML"),
        (SEED_CONFIG.replace("response: 900", "response: -1"), "greater than 0"),
        (SEED_CONFIG + "calendar: nowhere\n", "names calendar 'nowhere'"),
        ("urgent:\n  gold: {response: 60, resolution: 600}\n", "open tickets use priority/tier"),
    ],
)
def test_a_candidate_a_reload_would_refuse_gets_422_with_the_same_reason(
    client: TestClient, frozen_clock: FrozenClock, sessions: sessionmaker[Session], candidate: str, message: str
) -> None:
    seed_tickets(client, frozen_clock, sessions)
    response = client.post("/config/preview", content=candidate, headers=YAML)
    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]


def test_the_preview_takes_yaml_only(client: TestClient) -> None:
    assert client.post("/config/preview", json={"low": {}}).status_code == 415
