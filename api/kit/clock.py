"""The one place that reads the time: everything else asks `utc_now()` through this module.

Durations (timeouts, how long a pass took) are measured with `time.monotonic()`, which is not
a reading of the time of day.
"""

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Return the current instant as a timezone-aware UTC datetime."""
    return datetime.now(UTC)
