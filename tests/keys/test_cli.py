"""`python -m api.keys`: the same keys from a shell, on the service's database."""

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from api.kit import database
from api.main import create_app
from bench.harness import ROOT
from tests.conftest import fresh_database, make_settings

pytestmark = pytest.mark.slow


def keys_command(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m api.keys` with `arguments` against the database."""
    environment = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "api.keys", *arguments], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def test_a_key_made_in_a_shell_works_until_revoked_there(server_url: str) -> None:
    url = fresh_database(server_url, "sla_keys_cli_test")
    database.migrate(url)
    made = keys_command(url, "create", "--name", "zendesk", "--scopes", "tickets:write,read")
    assert made.returncode == 0, made.stderr
    key_id, key = made.stdout.split()[1], made.stdout.splitlines()[-1]
    assert key.startswith("sla_")
    listed = keys_command(url, "list").stdout
    assert listed.split("\t")[1:3] == ["zendesk", "read,tickets:write"]
    assert key not in listed
    config = ROOT / "sla_config.yaml"
    with TestClient(create_app(make_settings(url, config))) as client:
        assert client.get("/tickets", headers={"X-API-Key": key}).status_code == 200
        revoked = keys_command(url, "revoke", key_id)
        assert revoked.returncode == 0, revoked.stderr
        assert client.get("/tickets", headers={"X-API-Key": key}).status_code == 401
    assert keys_command(url, "revoke", key_id).returncode == 1


def test_an_unknown_scope_is_refused_by_name(server_url: str) -> None:
    url = fresh_database(server_url, "sla_keys_cli_test")
    refused = keys_command(url, "create", "--name", "x", "--scopes", "read,write")
    assert refused.returncode == 2
    assert refused.stdout.startswith("--scopes: Input should be 'tickets:write', 'read' or 'admin'")


def test_a_bad_name_or_expiry_is_refused_by_its_option_as_the_api_would(server_url: str) -> None:
    url = fresh_database(server_url, "sla_keys_cli_test")
    database.migrate(url)
    for option, value, message in (
        ("--name", "", "--name: String should have at least 1 character"),
        ("--name", "tab\there", "--name: String should match pattern"),
        ("--expires-at", "next tuesday", "--expires-at:"),
    ):
        arguments = {"--name": "zendesk", "--scopes": "read", option: value}
        refused = keys_command(url, "create", *[part for pair in arguments.items() for part in pair])
        assert refused.returncode == 2, refused.stderr
        assert refused.stdout.startswith(message), refused.stdout
        assert "Traceback" not in refused.stderr
