"""Bad input to POST /tickets: 422 naming index and field, nothing written, never a 500."""

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import post, snapshot_json, stored_ids
from tests.conftest import T0, FrozenClock


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
    pytest.param(_invalid("id", 4.5), "id", "valid string", id="fractional-id"),
    pytest.param(_invalid("id", True), "id", "valid string", id="boolean-id"),
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
