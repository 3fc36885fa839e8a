"""Realistic sample tickets for a first look: `python -m dashboard.demo` (API URL in SLA_API_URL).

Every priority and tier, with tickets healthy, at risk, breached, pending and resolved, dated
relative to now so the dashboard shows something meaningful at once.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from api.kit.timestamps import rfc3339
from dashboard import api_client


def sample_snapshots(now: datetime, targets: dict[str, dict[str, dict[str, int]]]) -> list[dict[str, Any]]:
    """Snapshots of seven tickets per priority x tier, each in a different situation."""
    snapshots: list[dict[str, Any]] = []
    number = 0
    for priority, by_tier in targets.items():
        for tier, target in by_tier.items():
            response, resolution = target["response"], target["resolution"]
            situations = {
                "healthy": [("open", 0.1 * response)],
                "at-risk": [("open", 0.9 * response)],
                "breached": [("open", 1.5 * response)],
                "working": [("open", 0.5 * resolution), ("in_progress", 0.45 * resolution)],
                "pending": [
                    ("open", 0.6 * resolution),
                    ("in_progress", 0.5 * resolution),
                    ("pending", 0.3 * resolution),
                ],
                "resolved": [
                    ("open", 0.5 * resolution),
                    ("in_progress", 0.4 * resolution),
                    ("resolved", 0.1 * resolution),
                ],
                "resolved-late": [
                    ("open", 1.6 * resolution),
                    ("in_progress", 1.5 * resolution),
                    ("resolved", 0.2 * resolution),
                ],
            }
            for situation, steps in situations.items():
                number += 1
                ticket_id = f"DEMO-{number:03}-{priority}-{tier}-{situation}"
                created = now - timedelta(seconds=steps[0][1])
                for status, seconds_ago in steps:
                    snapshots.append(
                        {
                            "id": ticket_id,
                            "priority": priority,
                            "customer_tier": tier,
                            "created_at": rfc3339(created),
                            "updated_at": rfc3339(now - timedelta(seconds=seconds_ago)),
                            "status": status,
                        }
                    )
    return snapshots


def load() -> dict[str, Any] | None:
    """Send the sample tickets the API does not have yet; returns its answer, or None if it had them all.

    A second run never rewrites a ticket the first one loaded: the demo's clocks keep running from
    when they were first loaded, as a real desk's would.
    """
    targets = api_client.config()["config"]["targets"]
    snapshots = sample_snapshots(datetime.now(UTC), targets)
    known = {ticket_id for ticket_id in {s["id"] for s in snapshots} if api_client.ticket(ticket_id) is not None}
    missing = [snapshot for snapshot in snapshots if snapshot["id"] not in known]
    return api_client.send_snapshots(missing) if missing else None


if __name__ == "__main__":
    result = load()
    if result is None:
        print("demo data: already loaded, left as it is")
    else:
        print(f"demo data: {result['created']} tickets created, {result['updated']} updates")
