"""Realistic snapshot streams: every priority and tier, status changes, some late or duplicated."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from api.kit.timestamps import rfc3339

PRIORITIES = ("low", "high")
TIERS = ("silver", "gold")
PATHS = (
    ("open",),
    ("open", "in_progress"),
    ("open", "in_progress", "resolved"),
    ("open", "in_progress", "pending", "in_progress", "resolved"),
    ("open", "pending", "open", "closed"),
)


def snapshot_stream(count: int, *, seed: int = 7, prefix: str = "ZD") -> list[dict[str, Any]]:
    """About `count` snapshots of tickets following real status paths; ~10 % arrive late or twice."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=6)
    snapshots: list[dict[str, Any]] = []
    number = 0
    while len(snapshots) < count:
        number += 1
        created = start + timedelta(seconds=rng.randrange(0, 6 * 3600))
        priority, tier = rng.choice(PRIORITIES), rng.choice(TIERS)
        at = created
        for status in rng.choice(PATHS):
            snapshots.append(
                {
                    "id": f"{prefix}-{number}",
                    "priority": priority,
                    "customer_tier": tier,
                    "created_at": rfc3339(created),
                    "updated_at": rfc3339(at),
                    "status": status,
                }
            )
            at += timedelta(minutes=rng.randrange(1, 90))
    snapshots = snapshots[:count]
    for index in range(len(snapshots)):
        if rng.random() < 0.05:  # delivered again later
            snapshots.append(snapshots[index])
        elif rng.random() < 0.05 and index > 0:  # delivered out of order
            other = rng.randrange(0, index)
            snapshots[index], snapshots[other] = snapshots[other], snapshots[index]
    return snapshots[:count]


def batches(items: list[Any], size: int) -> list[list[Any]]:
    """Consecutive slices of `size`."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def ingestion_rounds(
    count: int, *, seed: int = 17, prefix: str = "RD"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two rounds of `count` snapshots of `count` tickets: their first snapshots, then one change each.

    As a helpdesk sends them: mostly distinct tickets per batch, about a tenth delivered twice
    (5 %) or late, older than what is stored (5 %, in the second round).
    """
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=6)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for number in range(count):
        created = start + timedelta(seconds=rng.randrange(0, 6 * 3600))
        ticket = {"id": f"{prefix}-{number}", "priority": rng.choice(PRIORITIES), "customer_tier": rng.choice(TIERS)}
        ticket["created_at"] = rfc3339(created)
        first.append({**ticket, "updated_at": rfc3339(created), "status": "open"})
        changed = created + timedelta(minutes=rng.randrange(2, 90))
        second.append({**ticket, "updated_at": rfc3339(changed), "status": rng.choice(("in_progress", "resolved"))})
    for round_ in (first, second):
        for index in range(1, len(round_)):
            if rng.random() < 0.05:
                round_[index] = round_[rng.randrange(max(0, index - 500), index)]
    for index in range(1, len(second)):
        if rng.random() < 0.05:  # an earlier ticket's snapshot from between its two, after the newer one
            earlier = second[rng.randrange(max(0, index - 500), index)]
            created = datetime.fromisoformat(earlier["created_at"])
            second[index] = {**earlier, "updated_at": rfc3339(created + timedelta(seconds=30)), "status": "in_progress"}
    return first, second
