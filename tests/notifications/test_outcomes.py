"""How an attempt's answer decides the delivery's fate: delivered, retried on schedule, held, or dead."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from api.notifications.outcomes import Attempt, decide, retry_after_seconds

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
RETRIES = (5, 300, 1800)


def fate(attempt: Attempt, attempts: int) -> tuple[str, float, bool]:
    outcome = decide(attempt, attempts=attempts, retries=RETRIES, now=NOW, rng=random.Random(1))
    return outcome.status, (outcome.next_attempt_at - NOW).total_seconds(), outcome.disable_destination


def test_a_2xx_is_delivered_and_anything_else_is_retried() -> None:
    assert fate(Attempt(204), 1)[0] == "delivered"
    for failure in (Attempt(301), Attempt(404), Attempt(500), Attempt(None, "refused")):
        assert fate(failure, 1)[0] == "pending"


@pytest.mark.parametrize(("attempts", "wait"), [(1, 5), (2, 300), (3, 1800)])
def test_the_waits_follow_the_schedule_with_jitter(attempts: int, wait: int) -> None:
    status, seconds, _ = fate(Attempt(500), attempts)
    assert status == "pending"
    assert wait * 0.9 <= seconds <= wait * 1.1


def test_after_the_last_wait_the_delivery_is_dead() -> None:
    assert fate(Attempt(500), len(RETRIES) + 1)[0] == "dead"


def test_retry_after_on_429_and_503_waits_at_least_that_long() -> None:
    assert fate(Attempt(429, retry_after="120"), 1)[1] == 120
    assert fate(Attempt(503, retry_after="120"), 1)[1] == 120
    assert fate(Attempt(500, retry_after="120"), 1)[1] < 10
    http_date = "Tue, 01 Dec 2026 10:10:00 GMT"
    assert retry_after_seconds(http_date, NOW) == 600
    assert retry_after_seconds("soon", NOW) is None


def test_410_holds_the_delivery_and_disables_the_destination() -> None:
    status, wait, disable = fate(Attempt(410), 9)
    assert (status, disable) == ("pending", True)
    assert wait >= 1800 * 0.9


def test_the_jitter_spreads_retries_of_many_deliveries() -> None:
    rng = random.Random(7)
    waits = {decide(Attempt(500), attempts=1, retries=RETRIES, now=NOW, rng=rng).next_attempt_at for _ in range(50)}
    assert len(waits) > 40
    assert min(waits) >= NOW + timedelta(seconds=4.5)
