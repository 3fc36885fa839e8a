"""GET /config: the config in force, its version and the last reload error."""

from pathlib import Path

from fastapi.testclient import TestClient

from tests.builders import wait_for


def test_get_config_shows_the_version_in_force_and_the_last_error(client: TestClient, config_path: Path) -> None:
    before = client.get("/config").json()
    assert before["last_error"] is None
    assert before["config"]["targets"]["high"]["gold"] == {"response": 900, "resolution": 10800}

    config_path.write_text("high: {gold: {response: -5}}")
    wait_for(lambda: client.get("/config").json()["last_error"] is not None)

    after = client.get("/config").json()
    assert after["version"] == before["version"]
    assert after["config"] == before["config"]
    assert "greater than 0" in after["last_error"]["message"]
