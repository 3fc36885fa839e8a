"""What an attempt's answer means for its delivery: delivered, tried again later, held, or dead."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

JITTER = 0.1
MAX_RETRY_AFTER_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt ended: a status code, or an error that left none."""

    status_code: int | None
    error: str | None = None
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        """A 2xx answer, and nothing else, is success (redirects are not followed)."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a delivery goes after an attempt."""

    status: Literal["pending", "delivered", "dead"]
    next_attempt_at: datetime
    disable_destination: bool = False


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header in seconds (it may be a number of seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_SECONDS)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_SECONDS)


def decide(attempt: Attempt, *, attempts: int, retries: tuple[int, ...], now: datetime, rng: random.Random) -> Outcome:
    """The delivery's fate after its `attempts`-th attempt, on a schedule of waits before each retry."""
    if attempt.succeeded:
        return Outcome("delivered", now)
    wait = retries[min(attempts, len(retries)) - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
    if attempt.status_code == 410:
        # Gone: the receiver asks to be left alone. The delivery waits, held, until someone re-enables
        # the destination (which makes it due at once); until every process knows, it waits its turn.
        return Outcome("pending", now + timedelta(seconds=wait), disable_destination=True)
    if attempts > len(retries):
        return Outcome("dead", now)
    if attempt.status_code in {429, 503}:
        wait = max(wait, retry_after_seconds(attempt.retry_after, now) or 0.0)
    return Outcome("pending", now + timedelta(seconds=wait))
