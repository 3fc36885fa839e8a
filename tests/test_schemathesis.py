"""Property-based fuzzing of the whole API with schemathesis, from its own OpenAPI document.

Thousands of generated requests, valid and not, against a live process: none may answer a 5xx,
and every answer must match the published schema (status code, content type and body). The live
streams are left out: a request that is valid waits for events for ever; their own tests cover them.
"""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import requests

from api.kit import clock, database
from bench.harness import api_process
from tests.builders import snapshot_json
from tests.conftest import ADMIN_HEADERS, ADMIN_KEY, fresh_database

pytestmark = pytest.mark.slow

CHECKS = (
    "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,"
    "allow_header_conformance"
)


def test_no_generated_request_gets_a_5xx_or_an_answer_outside_the_schema(server_url: str) -> None:
    url = fresh_database(server_url, "sla_schemathesis_test")
    database.migrate(url)
    keys = {"SLA_AUTH": "on", "SLA_ADMIN_KEY": ADMIN_KEY}
    with api_process(url, SLA_EVALUATOR_ENABLED="false", SLA_NOTIFICATIONS_ENABLED="false", **keys) as api:
        created = clock.utc_now() - timedelta(hours=2)
        batch = [snapshot_json(f"{n}", created_at=created) for n in range(20)]
        posted = requests.post(f"{api.base}/tickets", json=batch, headers=ADMIN_HEADERS, timeout=10)
        assert posted.status_code == 200
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{api.base}/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                "60",
                "--exclude-path-regex",
                "^/events/",
                "--workers",
                "1",
                "--request-timeout",
                "10",
                "--seed",
                "7",
                "--header",
                f"Authorization: {ADMIN_HEADERS['Authorization']}",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            env={**os.environ, "NO_COLOR": "1"},
        )
    assert result.returncode == 0, result.stdout[-6000:]
    assert " passed" in result.stdout
    assert "failed" not in result.stdout.split("SUMMARY")[-1]
