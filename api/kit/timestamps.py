"""RFC 3339 timestamps with an offset, read into and written from timezone-aware UTC datetimes."""

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Final

from pydantic import BeforeValidator

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$")

# The instants the service accepts: a deadline a year past the last one still fits PostgreSQL and Python.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)
RANGE_MESSAGE: Final = "must be between 1970-01-01T00:00:00Z and 2200-01-01T00:00:00Z"


def parse_timestamp(value: Any) -> datetime:
    """Accept an RFC 3339 timestamp string with an offset and return it in UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp must carry an offset such as Z or +02:00")
        return _in_range(value)
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string such as 2026-11-27T09:30:00Z")
    return _parse_text(value)


def _in_range(value: datetime) -> datetime:
    try:
        instant = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} {RANGE_MESSAGE}") from None
    if not EARLIEST <= instant <= LATEST:
        raise ValueError(f"{value.isoformat()} {RANGE_MESSAGE}")
    return instant


# The snapshots of one ticket repeat its created_at, and a batch often shares instants.
@lru_cache(maxsize=16_384)
def _parse_text(value: str) -> datetime:
    match = _RFC3339.match(value)
    if not match:
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp such as 2026-11-27T09:30:00Z")
    if match.group(2) is None:
        raise ValueError(f"{value!r} has no offset: add Z or an offset such as +02:00")
    try:
        parsed = datetime.fromisoformat(value.upper().replace(" ", "T"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date and time: {exc}") from exc
    return _in_range(parsed)


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]


def rfc3339(instant: datetime) -> str:
    """RFC 3339 text of an aware datetime, in UTC with a `Z`."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
