"""The config in force: validated, immutable, swapped atomically; the last good one survives a bad edit."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.kit import clock, metrics
from api.sla_config import versions
from api.sla_config.loader import ConfigError, load_file
from api.sla_config.schema import SlaConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ActiveConfig:
    """A config as put in force: its content, version number and when it was loaded."""

    config: SlaConfig
    version: int
    loaded_at: datetime
    path: Path
    content_hash: str
    # Versions whose deadlines are this one's: tickets on them need no walk when this one comes in force.
    equivalent_versions: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ReloadError:
    """Why the latest attempt to load the file was refused."""

    message: str
    at: datetime


class ConfigStore:
    """Holds the active config; `reload()` reads the file and swaps it in only when it is valid."""

    def __init__(self, *, path: Path, sessions: sessionmaker[Session]) -> None:
        self.path = path
        self._sessions = sessions
        self._active: ActiveConfig | None = None
        self._last_error: ReloadError | None = None
        self._lock = threading.Lock()
        self._listeners: list[Callable[[ActiveConfig], None]] = []

    @property
    def active(self) -> ActiveConfig:
        """The config in force."""
        if self._active is None:
            raise RuntimeError("no SLA config has been loaded")
        return self._active

    @property
    def last_error(self) -> ReloadError | None:
        """The error of the latest reload, or None when it succeeded."""
        return self._last_error

    def on_change(self, listener: Callable[[ActiveConfig], None]) -> None:
        """Call `listener` with each newly applied config."""
        self._listeners.append(listener)

    def load_initial(self) -> ActiveConfig:
        """Load at start-up; an invalid file falls back to the newest version stored in the database."""
        if self.reload():
            return self.active
        with self._sessions() as session:
            stored = versions.latest(session)
            equivalent = versions.equivalent_versions(session, stored.document) if stored else ()
        if stored is None:
            message = self._last_error.message if self._last_error else "unknown error"
            raise ConfigError(f"{self.path}: {message}, and no earlier config is stored to fall back on")
        logger.error(
            "SLA config %s refused (%s); keeping version %s", self.path, message_of(self._last_error), stored.version
        )
        try:
            stored_config = SlaConfig.model_validate(stored.document)
        except ValidationError as exc:
            raise ConfigError(
                f"{self.path}: {message_of(self._last_error)}, and the newest stored version {stored.version} "
                f"is not valid in this environment either: {exc.errors()[0]['msg']}"
            ) from None
        self._active = ActiveConfig(
            config=stored_config,
            version=stored.version,
            loaded_at=stored.loaded_at,
            path=Path(stored.source_path),
            content_hash=stored.content_hash,
            equivalent_versions=equivalent,
        )
        return self._active

    def reload(self) -> bool:
        """Read the file; apply it if valid and new. Returns whether the config in force is the file's."""
        with self._lock:
            now = clock.utc_now()
            try:
                parsed = load_file(self.path)
                if self._active is not None and parsed.content_hash == self._active.content_hash:
                    self._last_error = None
                    metrics.CONFIG_RELOADS.labels(result="unchanged").inc()
                    return True
                with self._sessions() as session:
                    version = versions.register(session, parsed=parsed, source_path=str(self.path), now=now)
                    equivalent = versions.equivalent_versions(session, version.document)
                    session.commit()
            except ConfigError as exc:
                self._last_error = ReloadError(message=str(exc), at=now)
                logger.error("SLA config %s refused, last good config stays in force: %s", self.path, exc)
                metrics.CONFIG_RELOADS.labels(result="refused").inc()
                return False
            except SQLAlchemyError as exc:
                reason = f"the new version could not be stored: {getattr(exc, 'orig', None) or exc}"
                self._last_error = ReloadError(message=reason, at=now)
                logger.error("SLA config %s not applied, the database is not reachable: %s", self.path, exc)
                metrics.CONFIG_RELOADS.labels(result="refused").inc()
                return False
            active = ActiveConfig(
                config=parsed.config,
                version=version.version,
                loaded_at=version.loaded_at,
                path=self.path,
                content_hash=parsed.content_hash,
                equivalent_versions=equivalent,
            )
            self._active = active
            self._last_error = None
        logger.info("SLA config version %s in force from %s", active.version, self.path)
        metrics.CONFIG_RELOADS.labels(result="applied").inc()
        for listener in self._listeners:
            listener(active)
        return True


def message_of(error: ReloadError | None) -> str:
    """The message of a reload error, if any."""
    return error.message if error else ""
