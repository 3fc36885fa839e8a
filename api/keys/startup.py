"""The keys a process starts with: the hashing secret, the environment's keys, and a first admin key."""

import logging
import os
from pathlib import Path
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.orm import Session, sessionmaker

from api.keys import service
from api.keys.access import Access, Principal
from api.kit import clock
from api.settings import Settings

logger = logging.getLogger(__name__)

ADMIN_KEY_FILE: Final = "admin-key"
ALL_SCOPES: Final = frozenset(service.SCOPES)


def make_access(
    settings: Settings,
    sessions: sessionmaker[Session],
    pool: AsyncConnectionPool[AsyncConnection[Any]],
) -> Access:
    """What this process knows of keys; makes the first admin key when there is none."""
    enabled = settings.sla_auth == "on"
    with sessions() as session:
        secret = service.hashing_secret(session)
        session.commit()
    environment: dict[str, Principal] = {}
    if settings.sla_admin_key is not None:
        environment[settings.sla_admin_key.get_secret_value()] = Principal(name="admin", scopes=ALL_SCOPES)
    if settings.sla_dashboard_key is not None:
        environment[settings.sla_dashboard_key.get_secret_value()] = Principal(name="dashboard", scopes=ALL_SCOPES)
    if not enabled:
        logger.warning("SLA_AUTH=off: every request is let in without a key; use this on a trusted network only")
    elif settings.sla_admin_key is None:
        _bootstrap_admin(sessions, settings)
    return Access(enabled=enabled, secret=secret, environment_keys=environment, pool=pool)


def _bootstrap_admin(sessions: sessionmaker[Session], settings: Settings) -> None:
    """At the first start without SLA_ADMIN_KEY: make an admin key, log it once, keep it beside the embedded data."""
    with sessions.begin() as session:
        key = service.bootstrap_admin(session, now=clock.utc_now())
    if key is None:
        return
    logger.warning("first start: made the admin key below; it is shown this once (python -m api.keys to make others)")
    logger.warning("admin key: %s", key)
    if not settings.database_url:
        path = write_private(settings.sla_data_dir / ADMIN_KEY_FILE, key)
        logger.warning("the admin key is also in %s (readable by this user only)", path)


def write_private(path: Path, content: str) -> Path:
    """Write `content` to a file only its owner may read, replacing any other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content + "\n")
    return path
