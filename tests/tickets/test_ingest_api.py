"""POST /tickets through the real ASGI app: outcomes, and every kind of bad input."""

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.builders import snapshot_json
from tests.conftest import T0, FrozenClock


def post(client: TestClient, body: Any) -> Any:
    return client.post("/tickets", content=body if isinstance(body, str | bytes) else json.dumps(body))


def stored_ids(client: TestClient) -> list[str]:
    return sorted(item["id"] for item in client.get("/tickets", params={"limit": 500}).json()["items"])


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


def _invalid(field: str, value: Any) -> dict[str, Any]:
    body = snapshot_json("bad", created_at=T0)
    body[field] = value
    return body


BAD_SNAPSHOTS = [
    pytest.param(_invalid("priority", "urgent"), "priority", "unknown priority", id="unknown-priority"),
    pytest.param(_invalid("customer_tier", "platinum"), "customer_tier", "unknown customer tier", id="unknown-tier"),
    pytest.param(_invalid("status", "waiting"), "status", "Input should be", id="unknown-status"),
    pytest.param(_invalid("created_at", "2026-11-02T09:00:00"), "created_at", "no offset", id="no-offset"),
    pytest.param(_invalid("created_at", "yesterday"), "created_at", "RFC 3339", id="not-a-timestamp"),
    pytest.param(_invalid("created_at", 1762074000), "created_at", "RFC 3339", id="number-timestamp"),
    pytest.param(
        _invalid("created_at", "2026-02-30T09:00:00Z"), "created_at", "not a valid date", id="impossible-date"
    ),
    pytest.param(_invalid("updated_at", "2026-11-02T08:00:00Z"), "updated_at", "before created_at", id="updated-early"),
    pytest.param(_invalid("first_response_at", "2026-11-01T08:00:00Z"), "first_response_at", "before", id="fr-early"),
    pytest.param(_invalid("id", ""), "id", "at least 1", id="empty-id"),
    pytest.param(_invalid("id", "x" * 201), "id", "at most 200", id="long-id"),
    pytest.param(_invalid("id", "a\nb"), "id", "control characters", id="control-id"),
    pytest.param(_invalid("id", 42), "id", "valid string", id="numeric-id"),
    pytest.param(_invalid("statuss", "open"), "statuss", "Extra inputs", id="unknown-field"),
    pytest.param(
        {k: v for k, v in snapshot_json("bad", created_at=T0).items() if k != "status"},
        "status",
        "required",
        id="missing-field",
    ),
]


@pytest.mark.parametrize(("bad", "field", "message"), BAD_SNAPSHOTS)
def test_an_invalid_snapshot_gets_422_naming_index_and_field_and_nothing_is_written(
    client: TestClient, frozen_clock: FrozenClock, bad: dict[str, Any], field: str, message: str
) -> None:
    good = [snapshot_json(f"good-{n}", created_at=T0) for n in range(3)]

    response = post(client, [*good, bad])

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    problems = [p for p in body["detail"] if p["loc"] == ["body", 3, field]]
    assert problems, body
    assert message in problems[0]["msg"]
    assert stored_ids(client) == []


def test_every_problem_of_a_batch_is_listed_at_once_in_order_of_index_and_field(
    client: TestClient, frozen_clock: FrozenClock
) -> None:
    both = _invalid("customer_tier", "platinum")
    both["status"] = "waiting"
    batch = [_invalid("created_at", "yesterday"), _invalid("priority", "urgent"), both, _invalid("priority", 7)]

    response = post(client, batch)

    assert response.status_code == 422
    located = [(p["loc"], p["type"]) for p in response.json()["detail"]]
    assert [loc for loc, _ in located] == [
        ["body", 0, "created_at"],
        ["body", 1, "priority"],
        ["body", 2, "customer_tier"],
        ["body", 2, "status"],
        ["body", 3, "priority"],
    ]
    assert located[3][1] == "literal_error"
    assert located[4][1] == "string_type"
    # A batch whose only problem is a name the config lacks is refused the same way.
    single = post(client, _invalid("customer_tier", "platinum"))
    assert [p["loc"] for p in single.json()["detail"]] == [["body", "customer_tier"]]
    assert stored_ids(client) == []


def test_a_bad_batch_leaves_stored_tickets_as_they_were(client: TestClient, frozen_clock: FrozenClock) -> None:
    post(client, [snapshot_json("kept", created_at=T0)])
    before = client.get("/tickets/kept").json()

    update = snapshot_json("kept", created_at=T0, updated_at=T0 + timedelta(minutes=1), status="resolved")
    response = post(client, [update, _invalid("priority", "urgent")])

    assert response.status_code == 422
    assert client.get("/tickets/kept").json() == before


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param("", 400, "empty", id="empty-body"),
        pytest.param("[{", 400, "not valid JSON", id="malformed"),
        pytest.param("nul", 400, "not valid JSON", id="garbage"),
        pytest.param("[]", 422, "empty", id="empty-batch"),
        pytest.param('"text"', 422, "JSON array", id="string-body"),
        pytest.param("[1, 2]", 422, "should be an object", id="numbers"),
    ],
)
def test_unreadable_bodies_get_a_clear_error(client: TestClient, body: str, status: int, message: str) -> None:
    response = post(client, body)

    assert response.status_code == status
    assert message in json.dumps(response.json()["detail"])


def test_more_than_ten_thousand_snapshots_are_refused(client: TestClient, frozen_clock: FrozenClock) -> None:
    batch = [snapshot_json(f"T-{n}", created_at=T0) for n in range(10_001)]

    response = post(client, batch)

    assert response.status_code == 422
    assert "at most 10,000" in response.json()["detail"][0]["msg"]
    assert stored_ids(client) == []


def test_ten_thousand_snapshots_are_one_accepted_batch(client: TestClient, frozen_clock: FrozenClock) -> None:
    batch = [snapshot_json(f"T-{n:05}", created_at=T0) for n in range(10_000)]

    response = post(client, batch)

    assert response.status_code == 200
    assert response.json()["created"] == 10_000


def test_a_body_over_the_size_limit_gets_413(database_url: str, config_path: Any, sessions: Any) -> None:
    from api.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(database_url, config_path, sla_max_body_bytes=1_000))
    with TestClient(app) as small:
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
