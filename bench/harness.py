"""Databases, API processes and load loops shared by the workloads."""

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from api.kit import database

ROOT = Path(__file__).resolve().parent.parent


def server_url() -> str:
    """The PostgreSQL server to measure on: BENCH_DATABASE_URL, else the embedded one."""
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        return explicit
    from api.kit import embedded_postgres

    return embedded_postgres.server_url(ROOT / ".sla-data" / "bench")


def fresh_database(name: str) -> str:
    """An empty database migrated to head."""
    url = database.create_database(server_url(), name, replace=True)
    database.migrate(url)
    return url


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ApiProcess:
    """A running API process."""

    base: str
    pid: int


@contextmanager
def api_process(url: str, *, app: str | None = None, log: Path | str | None = None, **env: str) -> Iterator[ApiProcess]:
    """Run one API process (`python -m api`, or uvicorn serving `app`) on the database; yield its URL and pid.

    Keys are off unless `env` says `SLA_AUTH="on"`: the workloads measure what they name, and the
    cost of keys is a workload of its own. With `log`, everything the process logs, each request
    included, goes to that file.
    """
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SLA_CONFIG_PATH": str(ROOT / "sla_config.yaml"),
        "SLA_AUTH": "off",
        **env,
    }
    server = [sys.executable, "-m", "uvicorn", app] if app else [sys.executable, "-m", "api"]
    logging = ["--log-level", "info"] if log else ["--log-level", "warning", "--no-access-log"]
    with ExitStack() as files:
        log_file = files.enter_context(Path(log).open("w")) if log else None
        process = subprocess.Popen([*server, "--port", str(port), *logging], cwd=ROOT, env=environment, stderr=log_file)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{app or 'the API'} did not start")
                time.sleep(0.1)
            yield ApiProcess(base=base, pid=process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


@dataclass
class LoadResult:
    """Requests done by concurrent clients and their latencies."""

    requests: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_clients(clients: int, bodies: list[bytes], send: Callable[[requests.Session, bytes], None]) -> LoadResult:
    """Send every body once, spread over `clients` threads with a keep-alive session each."""
    latencies: list[float] = []
    lock = threading.Lock()
    position = iter(range(len(bodies)))

    def client() -> None:
        session = requests.Session()
        own: list[float] = []
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                break
            started = time.perf_counter()
            send(session, bodies[index])
            own.append(time.perf_counter() - started)
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(requests=len(bodies), seconds=time.perf_counter() - started, latencies=latencies)


@dataclass
class Sampler:
    """Times requests in a background thread until stopped."""

    request: Callable[[requests.Session], None]
    latencies: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "Sampler":
        def loop() -> None:
            session = requests.Session()
            while not self._stop.is_set():
                started = time.perf_counter()
                self.request(session)
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.005)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def p99_ms(self) -> float:
        """The 99th percentile latency in milliseconds."""
        return LoadResult(len(self.latencies), 1.0, self.latencies).percentile(0.99) * 1000


def median_of(runs: int, measure: Callable[[], float]) -> float:
    """The median of several measurements."""
    return statistics.median(measure() for _ in range(runs))
