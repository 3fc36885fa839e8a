"""An app whose config sends notifications to a real local receiver, and ways to make events for it."""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.kit import clock
from api.main import create_app
from api.sla import passes
from tests.builders import snapshot_json
from tests.conftest import ADMIN_HEADERS, SEED_CONFIG, make_settings
from tests.receiver import Receiver, running_receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP receiver, serving for the test."""
    with running_receiver() as running:
        yield running


AppFactory = Callable[..., TestClient]


@pytest.fixture
def notifying_app(sessions: sessionmaker[Session], database_url: str, config_path: Path) -> Iterator[AppFactory]:
    """Start the app with a `notifications:` section (YAML text) and settings; the evaluator stays off."""
    started: list[TestClient] = []

    def start(notifications: str, **settings: Any) -> TestClient:
        config_path.write_text(f"{SEED_CONFIG}\nnotifications:\n{notifications}")
        overrides = {"sla_notifications_enabled": True, "sla_notification_timeout_seconds": 2.0, **settings}
        client = TestClient(create_app(make_settings(database_url, config_path, **overrides)), headers=ADMIN_HEADERS)
        client.__enter__()
        started.append(client)
        return client

    yield start
    for client in started:
        client.__exit__(None, None, None)


def overdue_tickets(client: TestClient, *ids: str, hours: float = 1, **fields: Any) -> None:
    """Tickets created `hours` ago, so that their response clock breached (high/gold: 15 min; low/silver: 2 h)."""
    created = clock.utc_now() - timedelta(hours=hours)
    batch = [snapshot_json(ticket_id, created_at=created, **fields) for ticket_id in ids]
    assert client.post("/tickets", json=batch).status_code == 200


def record(client: TestClient, now: datetime | None = None) -> int:
    """Run one evaluation pass as the app's evaluator would, with the config in force."""
    app: FastAPI = client.app  # type: ignore[assignment]
    return passes.record_due(app.state.sessions, now=now or clock.utc_now(), active=app.state.config_store.active)


def destination(name: str, url: str, **fields: str) -> str:
    """One destination of a `notifications:` section."""
    lines = [f"  {name}:", f"    url: {url}", *(f"    {key}: {value}" for key, value in fields.items())]
    return "\n".join(lines) + "\n"
