"""Every request is counted under the template of its route, whether the route answered it or the edge did."""

import gzip
import json
from pathlib import Path

from fastapi.testclient import TestClient

from api.kit import metrics
from api.main import create_app
from tests.builders import snapshot_json
from tests.conftest import ADMIN_HEADERS, T0, make_settings


def _counted(handler: str, method: str, status: int) -> float:
    labels = {"handler": handler, "method": method, "status": str(status)}
    return metrics.REGISTRY.get_sample_value("sla_http_requests_total", labels) or 0.0


def _timed(handler: str, method: str) -> float:
    labels = {"handler": handler, "method": method}
    return metrics.REGISTRY.get_sample_value("sla_http_request_duration_seconds_count", labels) or 0.0


def test_requests_are_counted_by_route_template_method_and_status(client: TestClient) -> None:
    body = json.dumps(snapshot_json("M-1", created_at=T0)).encode()
    expected = [
        ("/tickets", "POST", 200),
        ("/tickets", "POST", 415),
        ("/tickets/{ticket_id:path}", "GET", 200),
        ("/tickets", "PATCH", 405),
        ("/tickets", "other", 405),
        ("none", "GET", 404),
    ]
    before = {key: _counted(*key) for key in expected}
    timed_before = _timed("/tickets", "POST")
    metrics_before = _counted("/metrics", "GET", 200)

    assert client.post("/tickets", content=body, headers={"content-type": "application/json"}).status_code == 200
    gzipped = {"content-type": "application/json", "content-encoding": "gzip"}
    assert client.post("/tickets", content=gzip.compress(body), headers=gzipped).status_code == 200
    assert client.post("/tickets", content=body, headers={"content-type": "text/plain"}).status_code == 415
    assert client.get("/tickets/M-1").status_code == 200
    assert client.patch("/tickets", json={}).status_code == 405
    assert client.request("BREW", "/tickets").status_code == 405
    assert client.get("/no/such/page-1234").status_code == 404
    assert client.get("/metrics").status_code == 200

    counted = {key: _counted(*key) - before[key] for key in expected}
    assert counted == {
        ("/tickets", "POST", 200): 2,  # the gzipped one too
        ("/tickets", "POST", 415): 1,  # refused at the edge, before any route ran
        ("/tickets/{ticket_id:path}", "GET", 200): 1,
        ("/tickets", "PATCH", 405): 1,
        ("/tickets", "other", 405): 1,  # a method of the client's own: labels stay bounded
        ("none", "GET", 404): 1,  # never the path itself, for the same reason
    }
    assert _timed("/tickets", "POST") - timed_before == 3
    assert _counted("/metrics", "GET", 200) == metrics_before


def test_a_request_that_fails_is_counted_as_a_500(database_url: str, config_path: Path) -> None:
    app = create_app(make_settings(database_url, config_path))

    def fail() -> None:
        raise RuntimeError("failing for the test")

    app.add_api_route("/failing-for-the-test", fail)
    before = _counted("/failing-for-the-test", "GET", 500)
    with TestClient(app, headers=ADMIN_HEADERS, raise_server_exceptions=False) as client:
        assert client.get("/failing-for-the-test").status_code == 500
    assert _counted("/failing-for-the-test", "GET", 500) - before == 1
