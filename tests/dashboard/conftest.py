"""A live API process on its own database for the dashboard to talk to, and a headless Chromium to drive it."""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, sync_playwright

from bench.harness import free_port
from tests.conftest import ADMIN_KEY, ROOT, SEED_CONFIG, fresh_database


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Poll `url` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def serve(command: list[str], env: dict[str, str], health_url: str) -> Iterator[None]:
    """Run `command` from the repository until the block ends, once `health_url` answers."""
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_until_up(health_url, process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def api_environment(
    server_url: str, tmp_path_factory: pytest.TempPathFactory, database: str, config: str
) -> dict[str, str]:
    """The environment of an API process with keys on, on a fresh database and a config file of its own."""
    config_dir: Path = tmp_path_factory.mktemp("dashboard-config")
    (config_dir / "sla_config.yaml").write_text(config)
    return {
        **os.environ,
        "DATABASE_URL": fresh_database(server_url, database),
        "SLA_CONFIG_PATH": str(config_dir / "sla_config.yaml"),
        "SLA_LEADER_RETRY_SECONDS": "0.2",
        "SLA_AUTH": "on",
        "SLA_ADMIN_KEY": ADMIN_KEY,
    }


@pytest.fixture(scope="module")
def live_api(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m api` with its evaluator, on a fresh database; yields its base URL."""
    env = api_environment(server_url, tmp_path_factory, "sla_dashboard_test", SEED_CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "api", "--port", str(port), "--log-level", "warning"]
    with serve(command, env, f"{base}/readyz"):
        yield base


@pytest.fixture
def dashboard_env(live_api: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the dashboard's API client at the live API."""
    monkeypatch.setenv("SLA_API_URL", live_api)
    monkeypatch.setenv("SLA_API_KEY", ADMIN_KEY)
    return live_api


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright; skipped where it is missing, except in CI."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is not installed at {executable}; .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


class RestartableApi:
    """`python -m api` on a fixed port and database, which a test can stop and start again."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env = env
        self.base = f"http://127.0.0.1:{port}"
        self.command = [sys.executable, "-m", "api", "--port", str(port), "--log-level", "warning"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process and wait until it is ready."""
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env)
        wait_until_up(f"{self.base}/readyz", self.process)

    def stop(self) -> None:
        """Stop the process and wait until it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


@pytest.fixture(scope="module")
def restartable_api(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableApi]:
    """An API with the seed config but high/gold answered within 5 s, so a breach falls due while a test waits."""
    config = SEED_CONFIG.replace("response: 900", "response: 5")
    env = api_environment(server_url, tmp_path_factory, "sla_dashboard_browser", config)
    api = RestartableApi(env, free_port())
    api.start()
    try:
        yield api
    finally:
        api.stop()
