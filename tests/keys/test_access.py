"""Every route but the public ones needs a key with its scope; keys are made, listed, revoked and expire."""

import logging
import re
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.testclient import WebSocketDenialResponse

from api.keys.access import Access
from api.kit.timestamps import rfc3339
from api.main import create_app
from api.settings import Settings
from tests.builders import snapshot_json
from tests.conftest import ADMIN_HEADERS, T0, FrozenClock, make_settings

PUBLIC = {"/healthz", "/readyz", "/metrics"}
DOCUMENTS = ["/docs", "/openapi.json"]
SCOPES = ("tickets:write", "read", "admin")


def spec_scope(method: str, path: str) -> str:
    """The scope SPEC "Access control" names for a request."""
    if method in {"GET", "WEBSOCKET"}:
        return "read"
    return "tickets:write" if (method, path) == ("POST", "/tickets") else "admin"


def protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route of the app not named public; WebSockets as WEBSOCKET."""
    found: list[tuple[str, str]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.path not in PUBLIC:
            found.extend((method, route.path) for method in sorted(route.methods or ()))
        elif isinstance(route, APIWebSocketRoute):
            found.append(("WEBSOCKET", route.path))
    return found


def make_key(client: TestClient, name: str, scopes: list[str], **fields: Any) -> str:
    """A new key through POST /keys."""
    response = client.post("/keys", json={"name": name, "scopes": scopes, **fields})
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def send(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    """The status a request gets; a WebSocket handshake's refusal counts as its HTTP status."""
    url = re.sub(r"\{[^}]+\}", "1", path)
    if method == "WEBSOCKET":
        try:
            with client.websocket_connect(url, headers=headers):
                return 101
        except WebSocketDenialResponse as refused:
            return int(refused.status_code)
    if path == "/config/preview":  # takes the candidate as YAML
        headers = {**headers, "Content-Type": "application/yaml"}
        return int(client.request(method, url, content=b"low: {}", headers=headers).status_code)
    body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
    return int(client.request(method, url, json=body, headers=headers).status_code)


def bare(client: TestClient) -> TestClient:
    """A client of the same running app that sends no key of its own."""
    return TestClient(client.app)


def test_the_walk_covers_every_kind_of_route(client: TestClient) -> None:
    routes = protected_routes(client.app)  # type: ignore[arg-type]
    assert {
        ("POST", "/tickets"),
        ("GET", "/tickets"),
        ("WEBSOCKET", "/events/ws"),
        ("DELETE", "/keys/{key_id}"),
    } <= set(routes)
    assert {spec_scope(*route) for route in routes} == set(SCOPES)


def test_every_route_not_named_public_answers_401_without_a_key(client: TestClient) -> None:
    anonymous = bare(client)
    refused = {route: send(anonymous, *route, headers={}) for route in protected_routes(client.app)}  # type: ignore[arg-type]
    assert {route: status for route, status in refused.items() if status != 401} == {}
    answer = anonymous.get("/tickets")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["error"] == "unauthorized"


def test_a_body_without_any_key_is_refused_before_it_is_read(client: TestClient) -> None:
    anonymous = bare(client)
    # Text that the edge would refuse with 415 once read: without a key it is never looked at.
    unread = anonymous.post("/tickets", content=b"x" * 100_000, headers={"content-type": "text/plain"})
    assert (unread.status_code, unread.json()["error"]) == (401, "unauthorized")
    assert unread.headers["www-authenticate"] == "Bearer"
    with_key = anonymous.post("/tickets", content=b"x", headers={**ADMIN_HEADERS, "content-type": "text/plain"})
    assert with_key.status_code == 415


def test_environment_keys_that_anyone_could_guess_are_refused() -> None:
    for weak in ("sla_change-me-admin-key", "sla_short"):
        with pytest.raises(ValidationError, match="SLA_ADMIN_KEY is a placeholder or shorter than 32"):
            Settings(sla_admin_key=weak)
        with pytest.raises(ValidationError, match="SLA_DASHBOARD_KEY"):
            Settings(sla_dashboard_key=weak)


def test_unknown_keys_sent_in_numbers_keep_the_memory_of_lookups_bounded(client: TestClient) -> None:
    access: Access = client.app.state.access  # type: ignore[attr-defined]
    anonymous = bare(client)
    for number in range(300):
        assert anonymous.get("/tickets", headers={"X-API-Key": f"sla_unknown-{number}"}).status_code == 401
    assert 0 < len(access._kept) <= 300
    with patch("api.keys.access.MAX_KEPT", 50):
        for number in range(300):
            anonymous.get("/tickets", headers={"X-API-Key": f"sla_other-{number}"})
        assert len(access._kept) <= 50


def test_every_route_answers_401_to_an_unknown_key(client: TestClient) -> None:
    anonymous = bare(client)
    unknown = {"Authorization": "Bearer sla_not-a-key-this-service-ever-made"}
    refused = {route: send(anonymous, *route, headers=unknown) for route in protected_routes(client.app)}  # type: ignore[arg-type]
    assert set(refused.values()) == {401}


def test_every_route_answers_403_to_a_key_lacking_its_scope(client: TestClient) -> None:
    # Each key has every scope but one (admin, which implies the others, only on the admin-less ones).
    lacking = {
        scope: {"X-API-Key": make_key(client, f"all-but-{scope}", [s for s in SCOPES if s not in {scope, "admin"}])}
        for scope in SCOPES
    }
    anonymous = bare(client)
    answers = {
        route: send(anonymous, *route, headers=lacking[spec_scope(*route)])
        for route in protected_routes(client.app)  # type: ignore[arg-type]
    }
    assert {route: status for route, status in answers.items() if status != 403} == {}
    forbidden = anonymous.post("/keys", json={"name": "x", "scopes": ["read"]}, headers=lacking["admin"])
    assert forbidden.json()["error"] == "forbidden"
    assert "admin" in forbidden.json()["detail"]


def test_a_key_with_the_scope_gets_past_the_door_of_every_route(client: TestClient) -> None:
    holding = {scope: {"Authorization": f"Bearer {make_key(client, scope, [scope])}"} for scope in SCOPES}
    anonymous = bare(client)
    answers = {
        route: send(anonymous, *route, headers=holding[spec_scope(*route)])
        for route in protected_routes(client.app)  # type: ignore[arg-type]
        if route[1] != "/events/stream"  # an endless answer; tests/keys/test_processes.py opens it
    }
    assert {route: status for route, status in answers.items() if status in {401, 403}} == {}


def test_a_route_added_later_is_protected_unless_named_public(client: TestClient) -> None:
    added = APIRouter()

    @added.get("/added")
    def added_route() -> dict[str, str]:
        return {"ok": "yes"}

    client.app.include_router(added)  # type: ignore[attr-defined]
    assert bare(client).get("/added").status_code == 401
    assert client.get("/added").json() == {"ok": "yes"}


def test_the_probes_metrics_and_documents_need_no_key(client: TestClient) -> None:
    anonymous = bare(client)
    for path in [*sorted(PUBLIC), *DOCUMENTS]:
        assert anonymous.get(path).status_code == 200, path


def test_a_query_token_opens_only_the_streams(client: TestClient) -> None:
    key = make_key(client, "browser", ["read"])
    anonymous = bare(client)
    assert anonymous.get("/tickets", params={"access_token": key}).status_code == 401
    with anonymous.websocket_connect(f"/events/ws?access_token={key}") as socket:
        socket.close()


def test_a_made_key_is_shown_once_listed_without_its_secret_and_revoked_at_once(client: TestClient) -> None:
    made = client.post("/keys", json={"name": "zendesk", "scopes": ["tickets:write"]}).json()
    assert re.fullmatch(r"sla_[A-Za-z0-9_-]{43}", made["key"])
    listed = client.get("/keys").json()["items"]
    assert [item["name"] for item in listed] == ["zendesk"]
    assert set(listed[0]) == {"id", "name", "scopes", "created_at", "expires_at", "last_used_at"}
    assert made["key"] not in str(listed)
    headers = {"Authorization": f"Bearer {made['key']}"}
    batch = [snapshot_json("K-1", created_at=T0)]
    assert bare(client).post("/tickets", json=batch, headers=headers).status_code == 200
    assert client.delete(f"/keys/{made['id']}").status_code == 204
    assert bare(client).post("/tickets", json=batch, headers=headers).status_code == 401
    assert client.delete(f"/keys/{made['id']}").status_code == 404
    assert client.get("/keys").json()["items"] == []


def test_key_requests_that_break_the_contract_name_the_field(client: TestClient) -> None:
    unknown_scope = client.post("/keys", json={"name": "x", "scopes": ["write"]})
    assert unknown_scope.status_code == 422
    assert "scopes" in unknown_scope.text
    no_scopes = client.post("/keys", json={"name": "x", "scopes": []})
    assert no_scopes.status_code == 422
    assert client.post("/keys", json={"scopes": ["read"]}).status_code == 422
    assert client.delete("/keys/0").status_code == 422


def test_a_key_stops_working_when_it_expires(client: TestClient, frozen_clock: FrozenClock) -> None:
    key = make_key(client, "contractor", ["read"], expires_at=rfc3339(T0 + timedelta(hours=1)))
    headers = {"X-API-Key": key}
    assert bare(client).get("/tickets", headers=headers).status_code == 200
    frozen_clock.advance(minutes=59, seconds=59)
    assert bare(client).get("/tickets", headers=headers).status_code == 200
    frozen_clock.advance(seconds=1)
    assert bare(client).get("/tickets", headers=headers).status_code == 401


def test_each_snapshot_records_the_name_of_the_key_it_came_through(client: TestClient) -> None:
    zendesk = {"X-API-Key": make_key(client, "zendesk", ["tickets:write"])}
    bare(client).post("/tickets", json=[snapshot_json("S-1", created_at=T0)], headers=zendesk)
    later = T0 + timedelta(minutes=5)
    client.post("/tickets", json=[snapshot_json("S-1", created_at=T0, updated_at=later, status="pending")])
    history = client.get("/tickets/S-1/history").json()["items"]
    assert [item["source"] for item in history] == ["zendesk", "admin"]
    assert [item["source"] for item in client.get("/tickets/S-1").json()["history"]] == ["zendesk", "admin"]


def test_when_a_key_was_last_used_is_written_without_a_write_per_request(client: TestClient) -> None:
    made = client.post("/keys", json={"name": "poller", "scopes": ["read"]}).json()
    for _ in range(3):
        bare(client).get("/tickets", headers={"X-API-Key": made["key"]})
    assert client.get("/keys").json()["items"][0]["last_used_at"] is None
    access: Access = client.app.state.access  # type: ignore[attr-defined]
    client.portal.call(access.flush)  # type: ignore[union-attr]
    assert client.get("/keys").json()["items"][0]["last_used_at"] is not None


def test_with_auth_off_every_request_is_let_in_and_the_service_says_so(
    database_url: str, config_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING),
        TestClient(create_app(make_settings(database_url, config_path, sla_auth="off"))) as open_client,
    ):
        assert open_client.get("/tickets").status_code == 200
        assert open_client.get("/readyz").json()["auth"] == "off"
    assert any("SLA_AUTH=off" in record.getMessage() for record in caplog.records)


def test_readyz_says_when_auth_is_on(client: TestClient) -> None:
    assert bare(client).get("/readyz").json()["auth"] == "on"


def test_without_an_admin_key_the_first_start_makes_one_logs_it_once_and_it_works(
    database_url: str, config_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url, config_path, sla_admin_key=None)
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as first:
        shown = [m for m in caplog.messages if m.startswith("admin key: ")]
        assert len(shown) == 1
        key = shown[0].removeprefix("admin key: ")
        assert first.get("/keys", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    caplog.clear()
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as second:
        assert not [m for m in caplog.messages if m.startswith("admin key: ")]
        assert second.get("/keys", headers={"Authorization": f"Bearer {key}"}).json()["items"][0]["name"] == "admin"


def test_the_admin_key_of_the_environment_is_named_admin(client: TestClient) -> None:
    assert client.headers["authorization"] == ADMIN_HEADERS["Authorization"]
    assert bare(client).get("/keys", headers={"X-API-Key": ADMIN_HEADERS["Authorization"][7:]}).status_code == 200
