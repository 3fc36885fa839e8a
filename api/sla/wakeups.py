"""When passes run: a date job at the next instant anything falls due, and the periodic safety net.

APScheduler drops a run that finds its job's instance limit reached, and with it the wake-up; so
the limit is generous and the evaluator's pass lock, not APScheduler, keeps passes from overlapping.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from api.kit import clock

WAKE_JOB_INSTANCES = 4


class Wakeups:
    """One wake-up job, moved earlier as earlier deadlines are announced, and an interval job."""

    def __init__(self, *, on_wake: Callable[[], None], on_sweep: Callable[[], None], sweep_seconds: float) -> None:
        self._on_wake = on_wake
        self._on_sweep = on_sweep
        self._sweep_seconds = sweep_seconds
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def start(self) -> None:
        """Start the scheduler with the safety-net sweep."""
        self._scheduler.start()
        self._scheduler.add_job(
            self._on_sweep,
            "interval",
            seconds=self._sweep_seconds,
            id="sla_sweep",
            coalesce=True,
            max_instances=WAKE_JOB_INSTANCES,
            misfire_grace_time=None,
        )

    def stop(self) -> None:
        """Stop scheduling; a running pass finishes on its own."""
        # Not wait=True: a running pass may be adding its next wake-up, which needs the lock shutdown holds.
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def wake_by(self, instant: datetime) -> None:
        """Make sure a pass runs at `instant` (or at once if it is past), unless one is due sooner."""
        job = self._scheduler.get_job("sla_wake")
        if job is not None and job.next_run_time is not None and job.next_run_time <= instant:
            return
        self.wake_at(instant)

    def wake_at(self, instant: datetime) -> None:
        """(Re)schedule the one wake-up job at `instant`; a past instant runs it at once."""
        self._scheduler.add_job(
            self._on_wake,
            "date",
            run_date=max(instant, clock.utc_now()),
            id="sla_wake",
            replace_existing=True,
            max_instances=WAKE_JOB_INSTANCES,
            misfire_grace_time=None,
        )
