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
    assert summary["events"] == {"alert": 2, "breach": 1}
    assert (summary["window"], summary["bucket"], len(summary["events_by_due"])) == ("24h", "hour", 24)
    # Response: met by paused and resolved, breached by "breached".
    assert summary["compliance"]["response"] == {"met": 2, "breached": 1, "compliance": 2 / 3}
    assert summary["compliance"]["resolution"] == {"met": 1, "breached": 0, "compliance": 1.0}
    segment = next(s for s in summary["by_priority_tier"] if (s["priority"], s["customer_tier"]) == ("high", "gold"))
    assert (segment["open"], segment["at_risk"], segment["breached"]) == (2, 1, 1)


def test_events_count_by_the_instant_they_fell_due_so_an_imported_backlog_is_not_a_spike_today(
    client: TestClient, frozen_clock: FrozenClock, sessions: sessionmaker[Session]
) -> None:
    frozen_clock.set(T0)
    old = snapshot_json("OLD", created_at=T0 - timedelta(days=400), updated_at=T0 - timedelta(days=399))
    recent = snapshot_json("RECENT", created_at=T0 - timedelta(days=3))
    assert client.post("/tickets", json=[old, recent]).status_code == 200
    run_pass(sessions, now=T0)

    day = client.get("/dashboard/summary").json()
    week = client.get("/dashboard/summary", params={"window": "7d"}).json()
    month = client.get("/dashboard/summary", params={"window": "30d"}).json()

    assert day["events"] == {"alert": 0, "breach": 0}
    assert (week["bucket"], len(week["events_by_due"]), len(month["events_by_due"])) == ("day", 7, 30)
    assert week["events"] == {"alert": 2, "breach": 2}
    due_days = {bucket["start"][:10] for bucket in week["events_by_due"] if bucket["alerts"] or bucket["breaches"]}
    assert due_days == {(T0 - timedelta(days=3)).date().isoformat()}
    assert client.get("/dashboard/summary", params={"window": "1y"}).status_code == 422


def test_compliance_by_day_counts_each_clock_on_the_day_it_was_decided(
    client: TestClient, frozen_clock: FrozenClock, sessions: sessionmaker[Session]
) -> None:
    frozen_clock.set(T0 + timedelta(days=2))
    answered = snapshot_json("MET", created_at=T0, updated_at=T0 + timedelta(minutes=5), status="in_progress")
    late = snapshot_json("LATE", created_at=T0 + timedelta(days=1))
    assert client.post("/tickets", json=[answered, late]).status_code == 200
    run_pass(sessions, now=frozen_clock.now)

    by_day = {
        row["day"]: row["response"]
        for row in client.get("/dashboard/summary", params={"window": "7d"}).json()["compliance_by_day"]
    }

    assert by_day[T0.date().isoformat()] == {"met": 1, "breached": 0, "compliance": 1.0}
    assert by_day[(T0 + timedelta(days=1)).date().isoformat()] == {"met": 0, "breached": 1, "compliance": 0.0}
    assert by_day[(T0 + timedelta(days=2)).date().isoformat()] == {"met": 0, "breached": 0, "compliance": None}
