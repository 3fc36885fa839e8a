"""The ticket endpoints through the real ASGI app: ingestion outcomes, limits, and the reads."""

import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.builders import ids, post, seed, snapshot_json
from tests.conftest import ADMIN_HEADERS, T0, FrozenClock


def test_counts_every_outcome_and_lists_them_in_request_order(client: TestClient, frozen_clock: FrozenClock) -> None:
    first = snapshot_json("A", created_at=T0, updated_at=T0 + timedelta(minutes=10), status="in_progress")
    assert post(client, [first]).json()["created"] == 1

    batch = [
        first,  # exact duplicate
        snapshot_json("A", created_at=T0, updated_at=T0 + timedelta(minutes=20), status="pending"),
        snapshot_json("A", created_at=T0, updated_at=T0 + timedelta(minutes=5), status="open"),
        snapshot_json("A", created_at=T0, updated_at=T0 + timedelta(minutes=10), status="open"),  # loses the tie
        snapshot_json("B", created_at=T0),
    ]
    response = post(client, batch)

    assert response.status_code == 200
    body = response.json()
    assert [(r["id"], r["outcome"]) for r in body["results"]] == [
        ("A", "unchanged"),
        ("A", "updated"),
        ("A", "stale"),
        ("A", "conflict"),
        ("B", "created"),
    ]
    assert {k: body[k] for k in ("created", "updated", "unchanged", "stale", "conflict")} == {
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "stale": 1,
        "conflict": 1,
    }
    detail = client.get("/tickets/A").json()
    assert detail["ticket"]["status"] == "pending"
    assert [h["status"] for h in detail["history"]] == ["open", "in_progress", "pending"]


def test_one_snapshot_per_request_gets_every_outcome_and_writes_each_once(
    client: TestClient, frozen_clock: FrozenClock
) -> None:
    at = [T0 + timedelta(minutes=minutes) for minutes in (0, 10, 20)]
    sent = [
        (snapshot_json("A", created_at=T0, updated_at=at[1], status="in_progress"), "created"),
        (snapshot_json("A", created_at=T0, updated_at=at[2], status="pending"), "updated"),
        (snapshot_json("A", created_at=T0, updated_at=at[2], status="pending"), "unchanged"),
        (snapshot_json("A", created_at=T0, updated_at=at[0], status="open"), "stale"),
        (snapshot_json("A", created_at=T0, updated_at=at[1], status="open"), "conflict"),
    ]

    outcomes = [post(client, body).json()["results"][0]["outcome"] for body, _ in sent]

    assert outcomes == [outcome for _, outcome in sent]
    detail = client.get("/tickets/A").json()
    assert [(h["updated_at"], h["status"]) for h in detail["history"]] == [
        ("2026-11-02T09:00:00Z", "open"),
        ("2026-11-02T09:10:00Z", "in_progress"),
        ("2026-11-02T09:20:00Z", "pending"),
    ]
    assert detail["ticket"]["status"] == "pending"
    # The late open snapshot still counts: the response clock stopped at 09:10, when work began.
    assert (detail["clocks"]["response"]["state"], detail["clocks"]["response"]["elapsed_seconds"]) == ("met", 600)


def test_resending_a_batch_is_a_no_op(client: TestClient, frozen_clock: FrozenClock) -> None:
    batch = [snapshot_json(f"T-{n}", created_at=T0) for n in range(20)]
    assert post(client, batch).json()["created"] == 20

    again = post(client, batch).json()

    assert again["unchanged"] == 20
    assert again["created"] == again["updated"] == 0


def test_accepts_a_single_object_and_offsets_other_than_utc(client: TestClient, frozen_clock: FrozenClock) -> None:
    body = snapshot_json("Z", created_at=T0)
    body["created_at"] = "2026-11-02T11:00:00+02:00"
    body["updated_at"] = "2026-11-02T11:30:00.250+02:00"

    response = post(client, body)

    assert response.status_code == 200
    ticket = client.get("/tickets/Z").json()["ticket"]
    assert ticket["created_at"] == "2026-11-02T09:00:00Z"
    assert ticket["updated_at"] == "2026-11-02T09:30:00.250000Z"


def test_ids_with_slashes_and_unicode_round_trip(client: TestClient, frozen_clock: FrozenClock) -> None:
    post(client, [snapshot_json("acme/ZD-12 ünï", created_at=T0)])

    assert client.get("/tickets/acme%2FZD-12%20%C3%BCn%C3%AF").json()["ticket"]["id"] == "acme/ZD-12 ünï"


def test_a_body_over_the_size_limit_gets_413(database_url: str, config_path: Any, sessions: Any) -> None:
    from api.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(database_url, config_path, sla_max_body_bytes=1_000))
    with TestClient(app, headers=ADMIN_HEADERS) as small:
        response = small.post(
            "/tickets", content=json.dumps([snapshot_json(f"T-{n}", created_at=T0) for n in range(20)])
        )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_lost_database_connections_answer_503_and_the_next_request_gets_fresh_ones(
    client: TestClient, frozen_clock: FrozenClock, engine: Engine
) -> None:
    assert client.post("/tickets", json=[snapshot_json("T-1", created_at=T0)]).status_code == 200
    with engine.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    engine.dispose()  # the tests' own pooled connections were terminated too

    # Every pooled connection of the app is gone; the first request on one learns it.
    answers = [client.post("/tickets", json=[snapshot_json(f"T-{n}", created_at=T0)]) for n in range(2, 6)]

    failed = [answer for answer in answers if answer.status_code != 200]
    assert failed, "a request on a terminated connection must fail"
    assert {answer.status_code for answer in failed} == {503}
    assert all(answer.json()["error"] == "service_unavailable" for answer in failed)
    assert client.post("/tickets", json=[snapshot_json("T-9", created_at=T0)]).status_code == 200
    # Reads go through the other pool, whose first use of a dead connection also answers 503.
    first_read = client.get("/tickets", params={"limit": 50})
    assert first_read.status_code in {200, 503}
    stored = client.get("/tickets", params={"limit": 50})
    assert stored.status_code == 200
    assert {"T-1", "T-9"} <= {item["id"] for item in stored.json()["items"]}


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
        "calendar": "24x7",
        "counting": True,
        "counts_again_at": None,
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


def test_a_missing_ticket_is_a_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/tickets/nope")

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "no ticket 'nope'"}
