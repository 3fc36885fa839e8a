"""The read API: filters, nearest-deadline order, keyset pages, the summary, health and OpenAPI."""

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.builders import run_pass, snapshot_json
from tests.conftest import T0, FrozenClock


def seed(client: TestClient, frozen_clock: FrozenClock) -> None:
    """Five tickets: breached, at risk, healthy, paused, resolved."""
    frozen_clock.set(T0 + timedelta(minutes=14))
    batch = [
        snapshot_json("breached", created_at=T0 - timedelta(hours=1), priority="high", customer_tier="gold"),
        snapshot_json("at-risk", created_at=T0, priority="high", customer_tier="gold"),
        snapshot_json("healthy", created_at=T0, priority="low", customer_tier="silver"),
        snapshot_json(
            "paused", created_at=T0, updated_at=T0 + timedelta(minutes=5), status="pending", customer_tier="silver"
        ),
        snapshot_json(
            "resolved", created_at=T0, updated_at=T0 + timedelta(minutes=10), status="resolved", priority="low"
        ),
    ]
    assert client.post("/tickets", json=batch).status_code == 200


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_tickets_come_nearest_deadline_first_with_live_clocks(client: TestClient, frozen_clock: FrozenClock) -> None:
    seed(client, frozen_clock)

    page = client.get("/tickets").json()

    assert ids(page) == ["breached", "at-risk", "healthy", "paused", "resolved"]
    first = page["items"][0]
    assert first["sla_state"] == "breached"
    assert first["clocks"]["response"] == {
        "target_seconds": 900,
        "elapsed_seconds": 74 * 60.0,
        "remaining_seconds": 900 - 74 * 60.0,
        "due_at": "2026-11-02T08:15:00Z",
        "alert_at": "2026-11-02T08:12:45Z",
        "state": "breached",
    }
    by_id = {item["id"]: item for item in page["items"]}
    assert by_id["at-risk"]["sla_state"] == "at_risk"
    assert by_id["paused"]["clocks"]["resolution"]["state"] == "paused"
    assert by_id["paused"]["clocks"]["resolution"]["elapsed_seconds"] == 300.0
    assert by_id["resolved"]["clocks"]["resolution"]["state"] == "met"
    assert by_id["healthy"]["sla_state"] == "ok"


def test_filters_narrow_the_list(client: TestClient, frozen_clock: FrozenClock) -> None:
    seed(client, frozen_clock)

    def listed(**params: Any) -> list[str]:
        return sorted(ids(client.get("/tickets", params=params).json()))

    assert listed(sla_state="breached") == ["breached"]
    assert listed(sla_state="at_risk") == ["at-risk"]
    assert listed(sla_state="ok") == ["healthy", "paused", "resolved"]
    assert listed(sla_state=["ok", "at_risk"]) == ["at-risk", "healthy", "paused", "resolved"]
    assert listed(status="pending") == ["paused"]
    assert listed(priority="low") == ["healthy", "resolved"]
    assert listed(customer_tier="silver") == ["healthy", "paused"]
    assert listed(priority="high", customer_tier="gold", status="open") == ["at-risk", "breached"]


def test_keyset_pages_cover_every_ticket_once_in_order(client: TestClient, frozen_clock: FrozenClock) -> None:
    batch = [
        snapshot_json(
            f"T-{n:03}", created_at=T0 + timedelta(minutes=n % 17), status="pending" if n % 5 == 0 else "open"
        )
        for n in range(120)
    ]
    client.post("/tickets", json=batch)
    everything = ids(client.get("/tickets", params={"limit": 500}).json())

    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/tickets", params=params).json()
        paged += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert paged == everything
    assert len(set(paged)) == 120


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


def test_a_missing_ticket_is_a_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/tickets/nope")

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "no ticket 'nope'"}


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": True, "schema_current": True, "evaluator": "disabled"}


def test_openapi_documents_every_endpoint_with_its_models(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]

    for path, method in [
        ("/tickets", "post"),
        ("/tickets", "get"),
        ("/tickets/{ticket_id}", "get"),
        ("/alerts", "get"),
        ("/dashboard/summary", "get"),
        ("/config", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ]:
        operation = paths[path][method]
        assert "$ref" in str(operation["responses"]["200"]), (path, method)
    body = paths["/tickets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["oneOf"][1] == {"$ref": "#/components/schemas/SnapshotIn"}
    assert "first_response_at" in schema["components"]["schemas"]["SnapshotIn"]["properties"]
    assert client.get("/docs").status_code == 200
