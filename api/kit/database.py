"""Engine, sessions, the declarative base and migrations.

Services flush and never commit: the request dependency and the evaluator's jobs are the edges that commit.
"""

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import psycopg
from alembic.config import Config
from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from psycopg_pool.base import AttemptWithBackoff
from sqlalchemy import DateTime, Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from api.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"

# psycopg keeps the parsed form of a statement with placeholders only up to 4 KB and parses a
# longer one again on every execution; ingestion's one statement is about 13 KB and runs on every
# request. Its module-level limit is raised where it exists (psycopg is pinned, and
# tests/test_database.py fails if the limit stops taking effect); without it, only speed suffers.
STATEMENT_CACHE_BYTES = 32 * 1024
_psycopg_queries: Any = getattr(psycopg, "_queries", None)
if isinstance(getattr(_psycopg_queries, "MAX_CACHED_STATEMENT_LENGTH", None), int):
    _psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = max(
        _psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, STATEMENT_CACHE_BYTES
    )

# Every timestamp column: timezone-aware, stored in UTC.
TZ = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Base of every table, with explicit constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def sqlalchemy_url(url: str) -> str:
    """Turn a libpq-style postgresql:// URL into one that selects the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """Turn a SQLAlchemy URL back into one psycopg accepts directly."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def resolve_database_url(settings: Settings) -> str:
    """The configured database, or the embedded PostgreSQL started on demand."""
    if settings.database_url:
        return settings.database_url
    from api.kit import embedded_postgres

    return embedded_postgres.start(settings.sla_data_dir)


def create_database(server_url: str, name: str, *, replace: bool = False) -> str:
    """Create database `name` on the server unless it exists (dropping it first if `replace`); return its URL."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        if replace:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


# While the database is away, a request waits at most this long for a pooled connection before its
# 503; a connection attempt to a host that does not answer at all gives up after libpq's minimum.
POOL_WAIT_SECONDS = 1.5
CONNECT_TIMEOUT_SECONDS = 2

# psycopg's pools retry a lost database with a backoff that doubles from one second, so that after a
# minute away the next attempt may be half a minute off. A steady half second keeps the recovery
# within a second of the database's return; an attempt against a database that is away is cheap.
AttemptWithBackoff.INITIAL_DELAY = 0.5
AttemptWithBackoff.DELAY_BACKOFF = 1.0


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine with a pool sized for one API process."""
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per request. A connection found dead is invalidated
        # with the whole pool, and that one request answers 503.
        pool_recycle=1800,
        pool_timeout=POOL_WAIT_SECONDS,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def make_async_pool(
    url: str, *, max_size: int = 8, outside_transactions: bool = False, lock_timeout_ms: int | None = None
) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """Async connections for work on the event loop (ingestion, deliveries), without a thread per request.

    Opened by the caller (`await pool.open()`). A connection that died is noticed when its request
    fails (503) and replaced by the pool; no check on every checkout, which would cost a round trip.
    With `outside_transactions` each statement commits as it ends; with `lock_timeout_ms` a
    statement waits at most that long for a lock (LockNotAvailable).
    """
    return AsyncConnectionPool(
        libpq_url(url),
        min_size=min(2, max_size),
        max_size=max_size,
        open=False,
        timeout=POOL_WAIT_SECONDS,
        kwargs={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        configure=_configure(outside_transactions, lock_timeout_ms),
    )


def _configure(
    outside_transactions: bool, lock_timeout_ms: int | None
) -> Callable[[AsyncConnection[Any]], Awaitable[None]]:
    async def configure(connection: AsyncConnection[Any]) -> None:
        """Read committed, whatever the server's default, in and out of transactions.

        Ingestion relies on it: `INSERT ... ON CONFLICT DO UPDATE` then sees the newest committed
        row, and a statement that waited for another writer's lock goes on instead of failing to
        serialize.
        """
        await connection.set_autocommit(True)
        await connection.execute("SET default_transaction_isolation = 'read committed'")
        if lock_timeout_ms is not None:
            await connection.execute("SELECT set_config('lock_timeout', %s, false)", [f"{lock_timeout_ms}ms"])
        await connection.set_autocommit(outside_transactions)

    return configure


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic, the only way the schema changes."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at this package's migrations and at `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration."""
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return set(rows) == heads


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the request succeeds."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": commit before the response is sent, so a client that was told "stored" can
# read it back at once, and a failed commit answers an error instead of a success already sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
