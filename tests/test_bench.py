"""The benchmark scripts keep working: `python -m bench --tiny --profile` runs every workload end to end.

Timings are not asserted here; benchmarks are measured by `python -m bench`, not by tests.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_every_workload_runs_and_reports_a_row(server_url: str, tmp_path: Path) -> None:
    output = tmp_path / "results.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--output", str(output), "--profile", str(tmp_path / "profiles")],
        cwd=ROOT,
        env={**os.environ, "BENCH_DATABASE_URL": server_url},
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    table = output.read_text()
    for figure in (
        "POST /tickets, batches of 1,000",
        "one snapshot per request",
        "nothing due",
        "newly due",
        "GET /tickets page p99",
        "GET /alerts page p99",
        "GET /dashboard/summary?window=24h p99",
        "GET /dashboard/summary?window=30d p99",
        "nothing stale",
        "with a key checked",
        "changes to them",
        "API process RSS",
        "config change",
        "during a pass",
        "alert latency",
        "max detected - due",
        "queueing deliveries to 3 destinations",
        "to a fast receiver",
        "deliveries per second",
        "never answers",
        "stream clients on 2 processes",
    ):
        assert figure in table, figure
    assert "| figure | value | unit | baseline (same run) | ratio | goal | met |" in table
    for name in ("ingest-batches-new", "ingest-batches-changes", "ingest-single", "config-change", "api-during-pass"):
        profile = (tmp_path / "profiles" / f"{name}.md").read_text()
        assert "CPU used meanwhile: API process" in profile, name


@pytest.mark.slow
def test_the_dashboard_benchmark_times_every_page(server_url: str, tmp_path: Path) -> None:
    output = tmp_path / "dashboard.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "dashboard", "--tiny", "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, "BENCH_DATABASE_URL": server_url},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    table = output.read_text()
    for page in ("overview", "tickets", "alerts", "ticket detail", "config"):
        assert f"| dashboard {page} page, all its API calls, p99, 2,000 stored |" in table, page
