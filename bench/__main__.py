"""Run every workload and print the results table: `python -m bench [--quick]`; `python -m bench dashboard` runs
the dashboard's pages only (bench/dashboard.py).

Figures are measured against the real API process (uvicorn, one process) on real PostgreSQL,
each beside a baseline measured in the same run. The table is written, with the machine, date
and commit, to bench/results/latest.md.
"""

import argparse
import os
import platform
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from api.kit import collector
from bench import dashboard, harness, notifications, profiling, workloads

RESULTS = harness.ROOT / "bench" / "results"


@dataclass(frozen=True)
class Size:
    """How much work each workload does in one mode."""

    batch_snapshots: int
    batch_repeats: int
    naive: int
    single: int
    open: int
    due: int
    busy: int
    latency: int
    over: float
    burst: int
    stream_clients: int
    stream_events: int
    stream_over: float


SIZES = {
    "tiny": Size(
        batch_snapshots=2_000,
        batch_repeats=1,
        naive=100,
        single=100,
        open=2_000,
        due=200,
        busy=500,
        latency=200,
        over=2.0,
        burst=200,
        stream_clients=10,
        stream_events=20,
        stream_over=2.0,
    ),
    "quick": Size(
        batch_snapshots=10_000,
        batch_repeats=2,
        naive=1_000,
        single=1_000,
        open=20_000,
        due=2_000,
        busy=5_000,
        latency=1_000,
        over=5.0,
        burst=2_000,
        stream_clients=50,
        stream_events=200,
        stream_over=5.0,
    ),
    "full": Size(
        batch_snapshots=100_000,
        batch_repeats=4,
        naive=5_000,
        single=10_000,
        open=1_000_000,
        due=10_000,
        busy=100_000,
        latency=10_000,
        over=30.0,
        burst=10_000,
        stream_clients=100,
        stream_events=1_000,
        stream_over=10.0,
    ),
}


def _format(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def render(rows: list[workloads.Row], mode: str) -> str:
    """The results as a Markdown table with where and when they were measured."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=harness.ROOT)
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, mode {mode}, commit {commit.stdout.strip() or '?'}, "
        f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"database {'BENCH_DATABASE_URL' if os.environ.get('BENCH_DATABASE_URL') else 'embedded PostgreSQL'}.",
        "",
        "| figure | value | unit | baseline (same run) | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        baseline = f"{_format(row.baseline)} ({row.baseline_name})" if row.baseline is not None else row.baseline_name
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        lines.append(
            f"| {row.figure} | {_format(row.value)} | {row.unit} | {baseline} | {ratio} | {row.goal} | "
            f"{'yes' if row.met else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse arguments, run the workloads, print and save the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suite", nargs="?", choices=["all", "dashboard"], default="all")
    parser.add_argument("--tickets", type=int, help="dashboard: stored tickets (default: the mode's open tickets)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--tiny", action="store_true", help="smallest sizes, to check the scripts still work")
    parser.add_argument(
        "--profile",
        nargs="?",
        const=str(profiling.PROFILES),
        metavar="FOLDER",
        help="sample the API with py-spy and write where its time went to FOLDER (default bench/results/profiles)",
    )
    parser.add_argument("--only", metavar="NAMES", help="comma-separated workloads to run (default: all)")
    parser.add_argument("--output", help="default: bench/results/latest.md, or dashboard.md for that suite")
    args = parser.parse_args()
    # Passes measured here run in this process: it collects garbage as the service's process does.
    collector.settle_after_startup()
    profiling.OUTPUT["folder"] = Path(args.profile) if args.profile else None
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    size = SIZES[mode]
    if args.suite == "dashboard":
        _write(render(dashboard.pages(args.tickets or size.open), mode), args.output or RESULTS / "dashboard.md")
        return
    seconds = {"tiny": 2, "quick": 5, "full": 15}[mode]
    runs: dict[str, Callable[[], list[workloads.Row]]] = {
        "ingest_batches": lambda: workloads.ingest_batches(size.batch_snapshots, size.naive, size.batch_repeats),
        "ingest_single": lambda: workloads.ingest_single(size.single, seconds=seconds),
        "access_cost": lambda: workloads.access_cost(size.batch_snapshots, seconds=seconds),
        "evaluator_pass": lambda: workloads.evaluator_pass(size.open, size.due),
        "reads_and_memory": lambda: workloads.reads_and_memory(size.open),
        "config_change": lambda: workloads.config_change(size.open),
        "api_during_pass": lambda: workloads.api_during_pass(size.open, size.busy),
        "alert_latency": lambda: workloads.alert_latency(size.open, size.latency, size.over),
        "deliveries": lambda: notifications.deliveries(size.burst),
        "streams": lambda: notifications.streams(size.stream_clients, size.stream_events, size.stream_over),
    }
    chosen = args.only.split(",") if args.only else list(runs)
    unknown = sorted(set(chosen) - set(runs))
    if unknown:
        parser.error(f"unknown workloads {', '.join(unknown)}; known: {', '.join(runs)}")
    rows: list[workloads.Row] = []
    output = args.output or RESULTS / "latest.md"
    for name in chosen:
        rows += runs[name]()
        # The table so far, so that a workload failing later loses none of the figures before it.
        Path(output).write_text(render(rows, mode), encoding="utf-8")
    _write(render(rows, mode), output)


def _write(table: str, output: str | Path) -> None:
    """Print the table and save it."""
    print(table)
    Path(output).write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
