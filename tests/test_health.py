"""Liveness and readiness."""

from fastapi.testclient import TestClient


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "database": True,
        "schema_current": True,
        "evaluator": "disabled",
        "auth": "on",
    }
