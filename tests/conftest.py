"""Test harness: a real PostgreSQL (embedded, or TEST_DATABASE_URL), built by the migrations.

Every test that touches the database starts from empty tables. Time is driven by a frozen,
advanceable clock that replaces `api.clock.utc_now`.
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.kit import clock, database
from api.main import create_app
from api.settings import Settings
from api.sla_config.store import ActiveConfig, ConfigStore

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE = "sla_test"
SEED_CONFIG = (ROOT / "sla_config.yaml").read_text()
TABLES = (
    "notification_deliveries, notification_destinations, sla_events, event_counts, ticket_snapshots, tickets, "
    "sla_config_versions, api_keys"
)
# The admin key of every test app (SLA_ADMIN_KEY), and the headers that send it.
ADMIN_KEY = "sla_test-admin-key-0123456789abcdefghijklmnopqrstuvwxyz"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _server_url() -> str:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    from api.kit import embedded_postgres

    return embedded_postgres.server_url(ROOT / ".sla-data" / "test")


def fresh_database(server_url: str, name: str) -> str:
    """Create an empty database `name` on the server (dropping an old one) and return its URL."""
    return database.create_database(server_url, name, replace=True)


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the PostgreSQL server the tests run on."""
    return _server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """URL of a test database migrated to head."""
    url = fresh_database(server_url, TEST_DATABASE)
    database.migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test database."""
    engine = database.make_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on empty tables."""
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return sessionmaker(engine, expire_on_commit=False)


class FrozenClock:
    """Stands in for `api.clock.utc_now`; moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward and return the new instant."""
        self.now += timedelta(**delta)
        return self.now

    def set(self, instant: datetime) -> None:
        """Move the clock to `instant`."""
        self.now = instant


T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Freeze `api.clock.utc_now` at a Monday 09:00 UTC."""
    frozen = FrozenClock(T0)
    monkeypatch.setattr(clock, "utc_now", frozen)
    return frozen


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A private copy of the seed SLA config, free to edit."""
    path = tmp_path / "config" / "sla_config.yaml"
    path.parent.mkdir()
    path.write_text(SEED_CONFIG)
    return path


@pytest.fixture
def config_store(sessions: sessionmaker[Session], config_path: Path) -> ConfigStore:
    """A config store loaded from the private seed config."""
    store = ConfigStore(path=config_path, sessions=sessions)
    store.load_initial()
    return store


@pytest.fixture
def active(config_store: ConfigStore) -> ActiveConfig:
    """The seed config in force."""
    return config_store.active


def make_settings(database_url: str, config_path: Path, **overrides: object) -> Settings:
    """Settings for an app on the test database, without an evaluator unless asked for."""
    values: dict[str, object] = {
        "database_url": database_url,
        "sla_config_path": config_path,
        "sla_evaluator_enabled": False,
        "sla_sweep_interval_seconds": 60.0,
        "sla_admin_key": ADMIN_KEY,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def client(sessions: sessionmaker[Session], database_url: str, config_path: Path) -> Iterator[TestClient]:
    """The real ASGI app on the test database, lifespan included, evaluator off."""
    app = create_app(make_settings(database_url, config_path))
    with TestClient(app, headers=ADMIN_HEADERS) as test_client:
        yield test_client
