"""The one place that reads the time: everything else asks `utc_now()` through this module."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Return the current instant as a timezone-aware UTC datetime."""
    return datetime.now(UTC)
