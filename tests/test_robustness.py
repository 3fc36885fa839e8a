"""What a careless or hostile client gets: a 4xx naming the field, never a 500, and nothing half-written.

Each test reproduces one finding of an adversarial trial of the API through the real app.
"""

import base64
import gzip
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from tests.builders import post, run_pass, snapshot_json, stored_ids
from tests.conftest import ADMIN_HEADERS, T0, FrozenClock, make_settings

JSON = {"content-type": "application/json"}


def problems(response: Any) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    detail: list[dict[str, Any]] = body["detail"]
    return detail


@pytest.mark.parametrize(
    "instant",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:01:00+17:48",
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:01Z",
    ],
)
def test_a_timestamp_out_of_range_is_a_422_naming_the_field(client: TestClient, instant: str) -> None:
    body = snapshot_json("T-1", created_at=T0)
    body["created_at"] = instant
    response = post(client, [body])

    assert response.status_code == 422
    (problem,) = [item for item in problems(response) if item["loc"] == ["body", 0, "created_at"]]
    assert "between 1970-01-01T00:00:00Z and 2200-01-01T00:00:00Z" in problem["msg"]
    assert stored_ids(client) == []


def test_the_edges_of_the_range_are_accepted(client: TestClient, frozen_clock: FrozenClock) -> None:
    body = snapshot_json("T-1", created_at=T0)
    body["created_at"], body["updated_at"] = "1970-01-01T00:00:00Z", "2200-01-01T00:00:00Z"
    assert post(client, [body]).status_code == 200


def test_a_since_out_of_range_is_a_422_naming_since(client: TestClient) -> None:
    response = client.get("/alerts", params={"since": "0001-01-01T00:00:00+14:00"})
    assert response.status_code == 422
    assert problems(response)[0]["loc"] == ["query", "since"]


@pytest.mark.parametrize(
    "body", ['[{"id":"x","priority":NaN}]', "[-1e400]", '[{"id": Infinity}]', '{"id": "x", "priority": -Infinity}']
)
def test_nan_infinity_and_huge_numbers_are_refused_like_any_invalid_value(client: TestClient, body: str) -> None:
    response = post(client, body)
    assert response.status_code == 422
    assert problems(response)


def test_nul_bytes_in_a_path_or_a_query_never_reach_the_database(client: TestClient) -> None:
    assert client.get("/tickets/%00").status_code == 404
    assert client.get("/tickets/a%00b/history").status_code == 404
    for path, name in (("/alerts?ticket=%00", "ticket"), ("/tickets?priority=%00", "priority")):
        response = client.get(path)
        assert response.status_code == 422, path
        assert problems(response)[0]["loc"] == ["query", name]


def cursor_of(values: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/tickets", cursor_of([None, "\u0000"])),
        ("/tickets", cursor_of(["2026-11-02T09:00:00", "T-1"])),
        ("/tickets", "not base64 at all!"),
        ("/alerts", cursor_of(["2026-11-02T09:00:00+00:00", 18446744073709551615])),
        ("/alerts", cursor_of(["2026-11-02T09:00:00+00:00", True])),
        ("/alerts", cursor_of([None, 5])),
        ("/notifications/deliveries", cursor_of([None, -1])),
        ("/tickets/T-1/history", cursor_of(["2026-11-02T09:00:00+00:00", "T-2"])),
    ],
)
def test_a_cursor_this_api_did_not_make_is_a_422_naming_cursor(
    client: TestClient, frozen_clock: FrozenClock, path: str, cursor: str
) -> None:
    assert post(client, [snapshot_json("T-1", created_at=T0)]).status_code == 200
    response = client.get(path, params={"cursor": cursor})
    assert response.status_code == 422
    assert problems(response)[0]["loc"] == ["query", "cursor"]


def test_an_unexpected_failure_is_a_json_500_with_the_request_id_the_log_carries(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from api.tickets import queries

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(queries, "list_tickets", broken)
    # As a real server does: the failure is answered, not raised into the client.
    answering = TestClient(client.app, raise_server_exceptions=False, headers=ADMIN_HEADERS)
    response = answering.get("/tickets", headers={"x-request-id": "trace-42"})

    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "detail": {"request_id": "trace-42"}}
    assert response.headers["x-request-id"] == "trace-42"
    assert any("trace-42" in record.getMessage() for record in caplog.records)


def test_every_answer_carries_a_request_id(client: TestClient) -> None:
    made_up = client.get("/healthz").headers["x-request-id"]
    assert len(made_up) == 32
    assert client.get("/healthz", headers={"x-request-id": "abc-1"}).headers["x-request-id"] == "abc-1"
    assert client.get("/healthz", headers={"x-request-id": "bad id\n"}).headers["x-request-id"] != "bad id\n"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_a_body_that_is_not_json_is_a_415_so_web_pages_cannot_post_tickets(
    client: TestClient, content_type: str | None
) -> None:
    body = json.dumps([snapshot_json("T-1", created_at=T0)])
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/tickets", content=body, headers=headers)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert stored_ids(client) == []


def test_a_gzipped_body_is_accepted_and_other_encodings_are_not(client: TestClient, frozen_clock: FrozenClock) -> None:
    body = gzip.compress(json.dumps([snapshot_json("T-1", created_at=T0)]).encode())
    accepted = client.post("/tickets", content=body, headers={**JSON, "content-encoding": "gzip"})
    assert accepted.status_code == 200
    assert accepted.json()["created"] == 1
    refused = client.post("/tickets", content=body, headers={**JSON, "content-encoding": "br"})
    assert refused.status_code == 415
    broken = client.post("/tickets", content=b"not gzip", headers={**JSON, "content-encoding": "gzip"})
    assert broken.status_code == 400


def test_the_size_limit_applies_to_the_decompressed_body(
    sessions: sessionmaker[Session], database_url: str, config_path: Path
) -> None:
    app = create_app(make_settings(database_url, config_path, sla_max_body_bytes=10_000))
    bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")
    assert len(bomb) < 10_000
    with TestClient(app, headers=ADMIN_HEADERS) as small:
        response = small.post("/tickets", content=bomb, headers={**JSON, "content-encoding": "gzip"})
    assert response.status_code == 413


def test_bodies_past_the_memory_budget_get_503_with_retry_after(
    sessions: sessionmaker[Session], database_url: str, config_path: Path
) -> None:
    app = create_app(make_settings(database_url, config_path, sla_body_memory_budget_bytes=5_000))
    body = json.dumps([snapshot_json(f"T-{n}", created_at=T0) for n in range(60)])
    assert len(body) > 5_000
    with TestClient(app, headers=ADMIN_HEADERS) as budgeted:
        response = budgeted.post("/tickets", content=body, headers=JSON)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert budgeted.post("/tickets", content=body[:0] + "[]", headers=JSON).status_code == 422


def test_a_repeated_key_is_refused_since_json_would_keep_only_one_value(client: TestClient) -> None:
    body = json.dumps([snapshot_json("T-1", created_at=T0)])[:-2] + ', "status": "closed"}]'
    response = post(client, body)
    assert response.status_code == 422
    assert problems(response) == [
        {"loc": ["body", 0, "status"], "msg": "status is given twice in one object", "type": "repeated_key"}
    ]


def test_a_value_that_spells_a_field_name_is_not_a_repeated_key(client: TestClient, frozen_clock: FrozenClock) -> None:
    assert post(client, [snapshot_json("status", created_at=T0)]).status_code == 200


def test_a_405_says_which_methods_are_allowed_and_an_unknown_route_is_not_found(client: TestClient) -> None:
    wrong = client.delete("/tickets")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"
    assert "GET" in wrong.headers["allow"]
    unknown = client.get("/nowhere")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/tickets?priority=urgent", "priority"),
        ("/tickets?customer_tier=platinum", "customer_tier"),
        ("/alerts?priority=urgent", "priority"),
        ("/tickets?sla_state=red", "sla_state"),
        ("/tickets?status=lost", "status"),
    ],
)
def test_an_unknown_filter_value_is_a_422_naming_the_parameter_not_an_empty_page(
    client: TestClient, path: str, name: str
) -> None:
    response = client.get(path)
    assert response.status_code == 422
    assert problems(response)[0]["loc"][:2] == ["query", name]


def test_numeric_ticket_ids_are_stored_as_their_decimal_string(client: TestClient, frozen_clock: FrozenClock) -> None:
    body = snapshot_json("x", created_at=T0)
    body["id"] = 48213
    assert post(client, [body]).json()["results"] == [{"id": "48213", "outcome": "created"}]
    assert client.get("/tickets/48213").json()["ticket"]["id"] == "48213"


def test_more_than_ten_thousand_items_are_refused_before_any_is_validated(client: TestClient) -> None:
    body = "[" + ",".join(["{}"] * 100_000) + "]"
    response = post(client, body)
    assert response.status_code == 422
    assert problems(response) == [
        {"loc": ["body"], "msg": "more than 10,000 snapshots: at most 10,000 per request", "type": "too_long"}
    ]
    assert len(response.content) < 1_000


def test_a_422_lists_the_first_hundred_problems_and_how_many_there_were(client: TestClient) -> None:
    response = post(client, "[" + ",".join(["{}"] * 1_000) + "]")
    listed = problems(response)
    assert len(listed) == 101
    assert listed[-1] == {
        "loc": ["body"],
        "msg": "6,000 problems in all; the first 100 are listed",
        "type": "too_many",
    }


def test_a_long_history_is_paged_and_the_detail_carries_the_newest_thousand(
    client: TestClient, frozen_clock: FrozenClock
) -> None:
    frozen_clock.set(T0 + timedelta(days=2))
    batch = [
        snapshot_json("LONG", created_at=T0, updated_at=T0 + timedelta(seconds=n), status="pending")
        for n in range(1, 1_201)
    ]
    assert post(client, batch).status_code == 200

    detail = client.get("/tickets/LONG").json()
    assert detail["history_total"] == 1_200
    updated = [item["updated_at"] for item in detail["history"]]
    assert len(updated) == 1_000
    assert updated == sorted(updated)
    assert updated[0] == (T0 + timedelta(seconds=201)).isoformat().replace("+00:00", "Z")

    seen: list[str] = []
    cursor = None
    while True:
        page = client.get("/tickets/LONG/history", params={"limit": 500, **({"cursor": cursor} if cursor else {})})
        seen += [item["updated_at"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 1_200
    assert seen == sorted(seen)
    assert client.get("/tickets/NONE/history").status_code == 404


def test_the_summary_counts_equal_the_list_filters_after_a_deadline_moves_past_a_recorded_breach(
    client: TestClient, sessions: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    breached = snapshot_json("MOVED", created_at=T0, priority="high", customer_tier="gold")
    post(client, [breached, snapshot_json("STEADY", created_at=T0, priority="high", customer_tier="gold")])
    frozen_clock.set(T0 + timedelta(minutes=20))
    run_pass(sessions, now=frozen_clock.now)
    lowered = snapshot_json("MOVED", created_at=T0, updated_at=frozen_clock.now, priority="low")
    assert post(client, [lowered]).status_code == 200

    def listed(state: str) -> int:
        page = client.get("/tickets", params={"sla_state": state, "status": ["open", "in_progress", "pending"]})
        return len(page.json()["items"])

    for minutes in (20, 60, 105, 125):
        frozen_clock.set(T0 + timedelta(minutes=minutes))
        counts = client.get("/dashboard/summary").json()["by_state"]
        assert counts == {state: listed(state) for state in ("ok", "at_risk", "breached")}, minutes
    moved = client.get("/tickets/MOVED").json()
    assert [event["kind"] for event in moved["events"]] == ["alert", "breach"]
