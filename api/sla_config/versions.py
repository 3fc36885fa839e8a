"""Numbered versions of the SLA config, shared by every process on the database."""

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.kit.statuses import OPEN_STATUS_SQL
from api.models import SlaConfigVersion
from api.sla_config.loader import ConfigError, ParsedConfig
from api.sla_config.schema import SlaConfig

REGISTRY_LOCK_KEY = 7_306_241_002

OPEN_SEGMENTS = text(f"SELECT DISTINCT priority, customer_tier FROM tickets WHERE {OPEN_STATUS_SQL}")


# The parts of a stored config that decide deadlines; versions equal in these share every deadline.
DEADLINE_RULES = ("targets", "alert_threshold", "pause_statuses", "calendars", "calendar")


def deadline_rules(document: dict[str, Any]) -> dict[str, Any]:
    """The deadline-deciding parts of a stored config document (older documents name no calendars)."""
    rules = {key: document.get(key) for key in DEADLINE_RULES}
    rules["calendars"] = rules["calendars"] or {}
    rules["calendar"] = rules["calendar"] or "24x7"
    return rules


def equivalent_versions(session: Session, document: dict[str, Any]) -> tuple[int, ...]:
    """Every stored version whose deadlines are those of `document` (its own version included)."""
    rules = deadline_rules(document)
    rows = session.execute(select(SlaConfigVersion.version, SlaConfigVersion.document)).all()
    return tuple(sorted(version for version, stored in rows if deadline_rules(stored) == rules))


def latest(session: Session) -> SlaConfigVersion | None:
    """The newest config version stored."""
    return session.scalars(select(SlaConfigVersion).order_by(SlaConfigVersion.version.desc()).limit(1)).first()


def refuse_orphans(session: Session, config: SlaConfig) -> None:
    """Refuse a config that drops a priority or tier open tickets use: their clocks would lose their targets."""
    orphaned = sorted(
        f"{row.priority}/{row.customer_tier}"
        for row in session.execute(OPEN_SEGMENTS)
        if row.customer_tier not in config.targets.get(row.priority, {})
    )
    if orphaned:
        raise ConfigError(f"open tickets use priority/tier {', '.join(orphaned)}, which this config no longer names")


def register(session: Session, *, parsed: ParsedConfig, source_path: str, now: datetime) -> SlaConfigVersion:
    """The version of this config: the newest one if it means the same, else a new one.

    Refuses a config that drops a priority or tier still used by open tickets, whose clocks
    would otherwise lose their targets.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REGISTRY_LOCK_KEY})
    newest = latest(session)
    if newest is not None and newest.content_hash == parsed.content_hash:
        return newest
    refuse_orphans(session, parsed.config)
    version = SlaConfigVersion(
        content_hash=parsed.content_hash, document=parsed.config.as_document(), source_path=source_path, loaded_at=now
    )
    session.add(version)
    session.flush()
    return version
