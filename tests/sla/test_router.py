"""GET /alerts and GET /dashboard/summary through the real ASGI app."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.builders import run_pass, seed, snapshot_json
from tests.conftest import T0, FrozenClock


def test_alerts_are_newest_first_filtered_and_paged(
    client: TestClient, frozen_clock: FrozenClock, sessions: sessionmaker[Session]
) -> None:
    client.post("/tickets", json=[snapshot_json(f"T-{n}", created_at=T0 + timedelta(minutes=n)) for n in range(6)])
    for minute in range(0, 40, 2):
        run_pass(sessions, now=T0 + timedelta(minutes=minute))

    everything = client.get("/alerts", params={"limit": 500}).json()["items"]
    assert len(everything) == 12
    detected = [item["detected_at"] for item in everything]
    assert detected == sorted(detected, reverse=True)

    breaches = client.get("/alerts", params={"kind": "breach"}).json()["items"]
    assert {item["kind"] for item in breaches} == {"breach"}
    assert len(breaches) == 6
    assert client.get("/alerts", params={"clock": "resolution"}).json()["items"] == []
    assert [e["ticket_id"] for e in client.get("/alerts", params={"ticket": "T-3"}).json()["items"]] == ["T-3", "T-3"]
    recent = client.get("/alerts", params={"since": "2026-11-02T09:20:00Z"}).json()["items"]
    assert all(item["detected_at"] >= "2026-11-02T09:20:00" for item in recent)
    assert 0 < len(recent) < 12

    first = client.get("/alerts", params={"limit": 5}).json()
    second = client.get("/alerts", params={"limit": 5, "cursor": first["next_cursor"]}).json()
    assert [e["id"] for e in first["items"] + second["items"]] == [e["id"] for e in everything[:10]]


def test_the_summary_counts_states_segments_events_and_compliance(
    client: TestClient, frozen_clock: FrozenClock, sessions: sessionmaker[Session]
) -> None:
    seed(client, frozen_clock)
    run_pass(sessions, now=frozen_clock.now)

    summary = client.get("/dashboard/summary").json()

    assert summary["total_tickets"] == 5
    assert summary["open_tickets"] == 4
    assert summary["by_state"] == {"ok": 2, "at_risk": 1, "breached": 1}
    assert summary["events_last_24h"] == {"alert": 2, "breach": 1}
    # Response: met by paused and resolved, breached by "breached".
    assert summary["compliance"]["response"] == {"met": 2, "breached": 1, "compliance": 2 / 3}
    assert summary["compliance"]["resolution"] == {"met": 1, "breached": 0, "compliance": 1.0}
    segment = next(s for s in summary["by_priority_tier"] if (s["priority"], s["customer_tier"]) == ("high", "gold"))
    assert (segment["open"], segment["at_risk"], segment["breached"]) == (2, 1, 1)
