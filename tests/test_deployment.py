"""The containers without Docker: the compose file through a real Compose parser, the Dockerfiles
through hadolint, the containers' own commands run as compose would run them, and the one-command
local stack started and stopped."""

import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import compose_spec
import pytest
import requests
import yaml
from sqlalchemy.engine import make_url

from bench.harness import free_port
from dashboard.access import auth_secrets_toml
from tests.conftest import ROOT, fresh_database
from tests.dashboard.conftest import wait_until_up

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Substitute variables as Compose does: ${X}, ${X:-default}, ${X-default}, ${X:?error}, $$."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        value, op, arg = env.get(name), match.group("op"), match.group("arg")
        if op in {":-", "-"} and (value is None or (op == ":-" and value == "")):
            return arg
        if op in {":?", "?"} and (value is None or (op == ":?" and value == "")):
            raise ValueError(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(replace, text)


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def compose() -> Any:
    """docker-compose.yml with .env.example's values, parsed and validated by compose-spec."""
    text = interpolate((ROOT / "docker-compose.yml").read_text(), env_example())
    return compose_spec.PyCompose.from_yaml(text).to_spec()


def test_compose_runs_db_api_and_dashboard_each_with_a_health_check(compose: Any) -> None:
    services = compose.services
    assert set(services) == {"db", "api", "dashboard"}
    assert services["db"].image.startswith("postgres:")
    for name in services:
        assert services[name].healthcheck is not None, name
        assert services[name].healthcheck.test, name
    assert "pg_isready" in _text(services["db"].healthcheck.test)
    assert "/readyz" in _text(services["api"].healthcheck.test)


def _text(test: str | list[str]) -> str:
    """A health check test as one line; the parser keeps CMD-SHELL tests as a string."""
    return test if isinstance(test, str) else " ".join(test)


def test_the_api_waits_for_a_healthy_db_and_the_dashboard_for_a_healthy_api(compose: Any) -> None:
    raw = yaml.safe_load(interpolate((ROOT / "docker-compose.yml").read_text(), env_example()))

    assert raw["services"]["api"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert raw["services"]["dashboard"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert raw["services"]["dashboard"]["environment"]["SLA_API_URL"] == "http://api:8000"


def test_compose_publishes_on_127_0_0_1_and_gives_the_dashboard_a_key_of_its_own() -> None:
    raw = yaml.safe_load(interpolate((ROOT / "docker-compose.yml").read_text(), env_example()))
    services = raw["services"]

    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["dashboard"]["ports"] == ["127.0.0.1:8501:8501"]
    assert "ports" not in services["db"]
    assert services["api"]["environment"]["SLA_ADMIN_KEY"] == env_example()["SLA_ADMIN_KEY"]
    dashboard_key = services["dashboard"]["environment"]["SLA_API_KEY"]
    assert dashboard_key == services["api"]["environment"]["SLA_DASHBOARD_KEY"]
    assert dashboard_key != services["api"]["environment"]["SLA_ADMIN_KEY"]
    assert "SLA_ADMIN_KEY" not in services["dashboard"]["environment"]


def test_compose_leaves_sign_in_off_by_default_and_hands_the_dashboard_the_sign_in_settings_from_env() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    sign_in = {
        "SLA_OIDC_ISSUER_URL": "https://accounts.example.com",
        "SLA_OIDC_CLIENT_ID": "sla-dashboard",
        "SLA_OIDC_CLIENT_SECRET": "client-secret",
        "SLA_DASHBOARD_URL": "https://sla.example.com",
        "SLA_DASHBOARD_ALLOWED_USERS": "example.com",
    }
    default = yaml.safe_load(interpolate(text, env_example()))["services"]
    configured = yaml.safe_load(interpolate(text, {**env_example(), **sign_in}))["services"]

    assert auth_secrets_toml(default["dashboard"]["environment"], fallback_cookie_secret="x") is None
    made = auth_secrets_toml(configured["dashboard"]["environment"], fallback_cookie_secret="x")
    assert made is not None
    assert tomllib.loads(made)["auth"]["redirect_uri"] == "https://sla.example.com/oauth2callback"
    assert configured["dashboard"]["environment"]["SLA_DASHBOARD_ALLOWED_USERS"] == "example.com"
    assert configured["api"]["environment"]["SLA_DASHBOARD_URL"] == "https://sla.example.com"
    assert not any(name.startswith("SLA_OIDC_") for name in configured["api"]["environment"])


def test_the_compose_database_gets_the_settings_the_embedded_one_gets() -> None:
    from api.kit.embedded_postgres import RELOADABLE_SETTINGS

    raw = yaml.safe_load(interpolate((ROOT / "docker-compose.yml").read_text(), env_example()))
    command = raw["services"]["db"]["command"]

    assert command[0] == "postgres"
    assert dict(option.split("=", 1) for option in command[2::2]) == RELOADABLE_SETTINGS
    assert set(command[1::2]) == {"-c"}


def test_the_config_folder_is_mounted_read_only_and_the_database_keeps_a_named_volume() -> None:
    raw = yaml.safe_load(interpolate((ROOT / "docker-compose.yml").read_text(), env_example()))
    api = raw["services"]["api"]

    (mount,) = api["volumes"]
    source, target, mode = mount.split(":")
    assert (ROOT / source / "sla_config.yaml").is_file(), "the mounted folder must hold sla_config.yaml"
    assert mode == "ro"
    assert api["environment"]["SLA_CONFIG_PATH"] == f"{target}/sla_config.yaml"
    assert raw["services"]["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert "pgdata" in raw["volumes"]


def test_no_credentials_are_baked_into_the_images_or_the_compose_file() -> None:
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        interpolate((ROOT / "docker-compose.yml").read_text(), {})
    for needed in ("SLA_ADMIN_KEY", "SLA_DASHBOARD_KEY"):
        without = {key: value for key, value in env_example().items() if key != needed}
        with pytest.raises(ValueError, match=needed):
            interpolate((ROOT / "docker-compose.yml").read_text(), without)
    for dockerfile in ("Dockerfile.api", "Dockerfile.dashboard"):
        assert "PASSWORD" not in (ROOT / dockerfile).read_text()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


@pytest.mark.parametrize("dockerfile", ["Dockerfile.api", "Dockerfile.dashboard"])
def test_the_dockerfiles_pass_hadolint_and_run_as_a_non_root_user(dockerfile: str) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "hadolint"), dockerfile], cwd=ROOT, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / dockerfile).read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim", text, re.MULTILINE)
    assert re.search(r"^USER \d+", text, re.MULTILINE)


def dockerfile_command(dockerfile: str) -> tuple[list[str], dict[str, str]]:
    """The CMD of a Dockerfile and the ENV it sets."""
    text = (ROOT / dockerfile).read_text().replace("\\\n", " ")
    command = json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", text, re.MULTILINE):
        for pair in shlex.split(line):
            key, value = pair.split("=", 1)
            env[key] = value
    return command, env


def healthcheck(compose_raw: dict[str, Any], service: str, port: int) -> list[str]:
    """The service's health check command, aimed at the port used outside the container."""
    test = compose_raw["services"][service]["healthcheck"]["test"][1:]
    return [part.replace(f":{compose_raw['services'][service]['environment']['PORT']}/", f":{port}/") for part in test]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


def test_the_containers_commands_run_and_answer_their_health_checks(
    server_url: str, started: list[subprocess.Popen[bytes]]
) -> None:
    # As .env.example says to: its placeholder keys replaced by keys of one's own.
    keys = {name: "sla_" + secrets.token_urlsafe(32) for name in ("SLA_ADMIN_KEY", "SLA_DASHBOARD_KEY")}
    raw = yaml.safe_load(interpolate((ROOT / "docker-compose.yml").read_text(), {**env_example(), **keys}))
    database = fresh_database(server_url, "sla_compose_test")

    api_command, api_image_env = dockerfile_command("Dockerfile.api")
    api_port = free_port()
    api_env = {
        **os.environ,
        **api_image_env,
        **{key: str(value) for key, value in raw["services"]["api"]["environment"].items()},
        # Outside the containers: the test server instead of host "db", the repo as the /config mount.
        "DATABASE_URL": database,
        "SLA_CONFIG_PATH": str(ROOT / "sla_config.yaml"),
        "PORT": str(api_port),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    assert make_url(raw["services"]["api"]["environment"]["DATABASE_URL"]).host == "db"
    started.append(subprocess.Popen(api_command, cwd=ROOT, env=api_env))
    wait_until_up(f"http://127.0.0.1:{api_port}/healthz", started[0])
    dashboard_key = raw["services"]["dashboard"]["environment"]["SLA_API_KEY"]
    tickets = f"http://127.0.0.1:{api_port}/tickets"
    assert requests.get(tickets, headers={"Authorization": f"Bearer {dashboard_key}"}, timeout=5).status_code == 200
    assert requests.get(tickets, timeout=5).status_code == 401
    api_check = healthcheck(raw, "api", api_port)
    deadline = time.monotonic() + 30
    while subprocess.run([sys.executable, *api_check[1:]], cwd=ROOT).returncode != 0:
        assert time.monotonic() < deadline, "the API's health check never passed"
        time.sleep(0.5)

    dashboard_command, dashboard_image_env = dockerfile_command("Dockerfile.dashboard")
    dashboard_port = free_port()
    dashboard_env = {
        **os.environ,
        **dashboard_image_env,
        **{key: str(value) for key, value in raw["services"]["dashboard"]["environment"].items()},
        "SLA_API_URL": f"http://127.0.0.1:{api_port}",
        "PORT": str(dashboard_port),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    started.append(subprocess.Popen(dashboard_command, cwd=ROOT, env=dashboard_env))
    wait_until_up(f"http://127.0.0.1:{dashboard_port}/_stcore/health", started[1])
    assert (
        subprocess.run([sys.executable, *healthcheck(raw, "dashboard", dashboard_port)[1:]], cwd=ROOT).returncode == 0
    )


def _stack(data_dir: Path, api_port: int, dashboard_port: int, *extra: str) -> subprocess.Popen[bytes]:
    """`./dev run` on the embedded database in `data_dir`, printing to `<data_dir>.out`."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "SLA_ADMIN_KEY", "SLA_AUTH"}}
    env["SLA_DATA_DIR"] = str(data_dir)
    output = data_dir.with_suffix(".out").open("w")
    return subprocess.Popen(
        [sys.executable, "dev", "run", "--api-port", str(api_port), "--dashboard-port", str(dashboard_port), *extra],
        cwd=ROOT,
        env=env,
        stdout=output,
    )


def _printed_admin_key(data_dir: Path) -> str:
    """The admin key `./dev run` printed once everything was up."""
    deadline = time.monotonic() + 60
    while not (found := re.findall(r"Admin key +(sla_\S+)", data_dir.with_suffix(".out").read_text())):
        assert time.monotonic() < deadline, "./dev run printed no admin key"
        time.sleep(0.2)
    assert len(found) == 1
    return str(found[0])


def _stop_and_check(process: subprocess.Popen[bytes], data_dir: Path) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    postmaster = data_dir / "pgdata" / "postmaster.pid"
    deadline = time.monotonic() + 15
    while postmaster.exists():
        assert time.monotonic() < deadline, "the embedded PostgreSQL kept running after the stack stopped"
        time.sleep(0.2)


@pytest.mark.slow
def test_the_one_command_stack_starts_on_a_fresh_folder_loads_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    api_port, dashboard_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"

    first = _stack(data_dir, api_port, dashboard_port, "--demo")
    try:
        wait_until_up(f"http://127.0.0.1:{dashboard_port}/_stcore/health", first, timeout=120)
        wait_until_up(f"{api}/readyz", first)
        admin = {"Authorization": f"Bearer {_printed_admin_key(data_dir)}"}
        assert (data_dir / "admin-key").read_text().strip() == admin["Authorization"].removeprefix("Bearer ")
        for kept in ("admin-key", "dashboard-key"):
            assert (data_dir / kept).stat().st_mode & 0o777 == 0o600
        assert requests.get(f"{api}/tickets", timeout=5).status_code == 401
        deadline = time.monotonic() + 60
        while requests.get(f"{api}/dashboard/summary", headers=admin, timeout=5).json()["total_tickets"] == 0:
            assert time.monotonic() < deadline, "the demo data never arrived"
            time.sleep(0.5)
        summary = requests.get(f"{api}/dashboard/summary", headers=admin, timeout=5).json()
        assert {(s["priority"], s["customer_tier"]) for s in summary["by_priority_tier"]} == {
            ("low", "silver"),
            ("low", "gold"),
            ("high", "silver"),
            ("high", "gold"),
        }
        assert summary["by_state"]["ok"] > 0
        assert summary["by_state"]["at_risk"] > 0
        assert summary["by_state"]["breached"] > 0
        loaded = _tickets(api, admin)
        assert {"open", "in_progress", "pending", "resolved"} <= {ticket["status"] for ticket in loaded.values()}
        some_ticket = next(iter(loaded))
        history = requests.get(f"{api}/tickets/{some_ticket}/history", headers=admin, timeout=5).json()["items"]
        assert {item["source"] for item in history} == {"dashboard"}
    finally:
        _stop_and_check(first, data_dir)

    second = _stack(data_dir, api_port, dashboard_port, "--demo")
    try:
        wait_until_up(f"http://127.0.0.1:{dashboard_port}/_stcore/health", second, timeout=120)
        time.sleep(5)  # the demo loads once the dashboard answers
        assert _printed_admin_key(data_dir) == admin["Authorization"].removeprefix("Bearer ")
        again_summary = requests.get(f"{api}/dashboard/summary", headers=admin, timeout=5).json()
        assert again_summary["total_tickets"] == summary["total_tickets"]
        again = _tickets(api, admin)
        assert {key: (t["created_at"], t["updated_at"]) for key, t in again.items()} == {
            key: (t["created_at"], t["updated_at"]) for key, t in loaded.items()
        }
    finally:
        _stop_and_check(second, data_dir)


def _tickets(api: str, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    items = requests.get(f"{api}/tickets", params={"limit": 500}, headers=headers, timeout=5).json()["items"]
    return {ticket["id"]: ticket for ticket in items}


def test_the_api_refuses_to_start_with_the_placeholder_keys_of_env_example(server_url: str) -> None:
    raw = yaml.safe_load(interpolate((ROOT / "docker-compose.yml").read_text(), env_example()))
    api_command, api_image_env = dockerfile_command("Dockerfile.api")
    api_env = {
        **os.environ,
        **api_image_env,
        **{key: str(value) for key, value in raw["services"]["api"]["environment"].items()},
        "DATABASE_URL": fresh_database(server_url, "sla_compose_test"),
        "PORT": str(free_port()),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    refused = subprocess.run(api_command, cwd=ROOT, env=api_env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "SLA_ADMIN_KEY is a placeholder" in refused.stderr
