"""Where a workload's time goes: py-spy samples of the API process and the CPU each side used.

Enabled with `python -m bench --profile [FOLDER]`: each profiled workload writes a summary to
FOLDER/<name>.md (bench/results/profiles by default).
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "bench" / "results" / "profiles"
# Where summaries go; None while profiling is off.
OUTPUT: dict[str, Path | None] = {"folder": None}
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _postgres_cpu_seconds() -> float:
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in {"postgres", "postmaster"}:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def _short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['function']} ({path})"


class SessionSampler:
    """Samples what the database's sessions are doing (pg_stat_activity) every few milliseconds."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._stop = threading.Event()
        self.samples = 0
        self.seen: Counter[tuple[str, str, str]] = Counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "SessionSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as connection:
            while not self._stop.is_set():
                rows = connection.execute(SESSIONS).fetchall()
                self.samples += 1
                for state, wait, statement in rows:
                    self.seen[(state, wait, " ".join(statement.split())[:32] if state == "active" else "")] += 1
                time.sleep(0.005)

    def table(self) -> list[str]:
        """Markdown rows: how many sessions were in each state on average."""
        return [
            f"| {count / max(self.samples, 1):.2f} | {state} | {wait} | `{statement}` |"
            for (state, wait, statement), count in self.seen.most_common(12)
        ]


SESSIONS = """
    SELECT state, coalesce(wait_event_type || ':' || wait_event, 'on CPU'), query
    FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND state IS NOT NULL
"""


def summarize(
    raw: str,
    name: str,
    wall: float,
    api_cpu: tuple[float, float],
    postgres_cpu: float,
    sessions: SessionSampler | None = None,
) -> str:
    """A Markdown summary of py-spy's collapsed stacks and the CPU split."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";") if not frame.startswith("thread (") and frame]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [
        f"# Profile: {name}",
        "",
        f"Wall {wall:.1f} s. CPU used meanwhile: API process {sum(api_cpu):.1f} s ({sum(api_cpu) / wall:.2f} cores; "
        f"{api_cpu[0]:.1f} s user, {api_cpu[1]:.1f} s system), "
        f"PostgreSQL processes {postgres_cpu:.1f} s ({postgres_cpu / wall:.2f} cores), on {os.cpu_count()} cores.",
        "",
        f"py-spy samples of the API process, of the thread holding the GIL (Python at work): {total}.",
        "",
        "## Own time, top 20",
        "",
        "| share | function |",
        "|---|---|",
        *(f"| {count / max(total, 1):.1%} | `{frame}` |" for frame, count in own.most_common(20)),
        "",
        "## The service's own functions, inclusive time, top 20",
        "",
        "| share | function |",
        "|---|---|",
        *(
            f"| {count / max(total, 1):.1%} | `{frame}` |"
            for frame, count in [item for item in inclusive.most_common() if "(api/" in item[0]][:20]
        ),
        "",
    ]
    if not total:
        lines[lines.index("## Own time, top 20") :] = ["No samples: the load was too short to sample.", ""]
    if sessions is not None:
        lines += [
            f"## PostgreSQL sessions of the database, {sessions.samples} samples of pg_stat_activity",
            "",
            "| sessions on average | state | waiting on | statement |",
            "|---|---|---|---|",
            *sessions.table(),
            "",
        ]
    return "\n".join(lines)


@contextmanager
def profiled(pid: int, name: str, database_url: str | None = None) -> Iterator[None]:
    """Sample process `pid` with py-spy, and the database's sessions, while the block runs (when on)."""
    folder = OUTPUT["folder"]
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        raw_path = Path(scratch) / "raw.txt"
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "250",
                "--nonblocking",
                "--gil",
                "--output",
                str(raw_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        api = psutil.Process(pid)
        api_before = api.cpu_times()
        postgres_before = _postgres_cpu_seconds()
        sessions = SessionSampler(database_url) if database_url else None
        started = time.perf_counter()
        try:
            if sessions is None:
                yield
            else:
                with sessions:
                    yield
        finally:
            wall = time.perf_counter() - started
            api_after = api.cpu_times()
            api_user, api_system = api_after.user - api_before.user, api_after.system - api_before.system
            postgres_cpu = _postgres_cpu_seconds() - postgres_before
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            raw = raw_path.read_text() if raw_path.exists() else ""
            summary = summarize(raw, name, wall, (api_user, api_system), postgres_cpu, sessions)
            (folder / f"{name}.md").write_text(summary)
