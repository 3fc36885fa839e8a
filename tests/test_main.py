"""The application as a whole: its OpenAPI document, and how the started process collects garbage."""

import gc

from fastapi.testclient import TestClient

from api.kit import collector


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


def test_a_started_service_keeps_startup_out_of_garbage_collections(client: TestClient) -> None:
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, *collector.OLDER_THRESHOLDS)
