"""`python -m dashboard`: the sign-in secrets it writes, and the settings it refuses to start with."""

import os
import shutil
import subprocess
import sys

import pytest

from dashboard.__main__ import write_private
from tests.conftest import ROOT

SIGN_IN = {
    "SLA_OIDC_ISSUER_URL": "https://accounts.example.com",
    "SLA_OIDC_CLIENT_ID": "sla-dashboard",
    "SLA_OIDC_CLIENT_SECRET": "client-secret",
    "SLA_DASHBOARD_URL": "https://sla.example.com",
}


def start(**environ: str) -> subprocess.CompletedProcess[str]:
    """`python -m dashboard` with no SLA_ or STREAMLIT_ settings but `environ`; for starts it refuses."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLA_", "STREAMLIT_"))}
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "--server.port", "0"],
        cwd=ROOT,
        env={**env, **environ},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_secrets_file_is_readable_by_its_owner_only() -> None:
    path = write_private("[auth]\n")
    try:
        assert path.read_text() == "[auth]\n"
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(path.parent)


@pytest.mark.parametrize("left_out", ["SLA_OIDC_CLIENT_SECRET", "SLA_DASHBOARD_URL"])
def test_a_half_configured_sign_in_stops_the_start_and_names_what_is_missing(left_out: str) -> None:
    environ = {key: value for key, value in SIGN_IN.items() if key != left_out}

    result = start(**environ)

    assert result.returncode != 0
    assert left_out in result.stderr


def test_sign_in_set_in_two_places_stops_the_start() -> None:
    result = start(**SIGN_IN, STREAMLIT_SECRETS_FILES="/etc/sla/secrets.toml")

    assert result.returncode != 0
    assert "not both" in result.stderr
