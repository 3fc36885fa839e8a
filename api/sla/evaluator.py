"""Runs evaluation passes in the API process, one process at a time across all replicas.

The evaluator is a loop service apart from its work: `Leadership` decides whether this process
evaluates, `Wakeups` decides when, and each pass runs the work, which is plain functions of a
session and an instant: record what fell due (`passes`), move open tickets to a new config
(`walk`), fold the summary counts (`summary`). The sweep every `SLA_SWEEP_INTERVAL_SECONDS` is
only the safety net; passes normally run at the next deadline.
"""

import logging
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from api.kit import clock, metrics
from api.sla import passes, summary, walk
from api.sla.leadership import Leadership
from api.sla.wakeups import Wakeups
from api.sla.walk import ConfigWalk
from api.sla_config.store import ActiveConfig, ConfigStore

logger = logging.getLogger(__name__)

# A pass that walks to a new config yields after this long, so new deadlines keep being recorded.
PASS_TIME_BUDGET_SECONDS = 1.0
RETRY_AFTER_FAILURE = timedelta(seconds=1)


class Evaluator:
    """Leader election, wake-ups and the scheduling of passes in one API process."""

    def __init__(
        self,
        *,
        database_url: str,
        sessions: sessionmaker[Session],
        store: ConfigStore,
        sweep_interval_seconds: float,
        leader_retry_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._stopping = threading.Event()
        self._pass_lock = threading.Lock()
        self._rerun = threading.Event()
        # Set when open tickets may carry another config's deadlines: at start, after a reload, and
        # on each sweep (a replica with another file may have written some). Each pass that finds
        # it set asks the index of open tickets' versions first, and walks only if one is stale.
        self._stale_possible = threading.Event()
        self._stale_possible.set()
        self._walk = ConfigWalk(sessions)
        self._wakeups = Wakeups(on_wake=self.run_pass, on_sweep=self._sweep, sweep_seconds=sweep_interval_seconds)
        self._leadership = Leadership(
            database_url=database_url,
            retry_seconds=leader_retry_seconds,
            on_lead=self._on_lead,
            on_wakeup=self._on_wakeup,
        )

    @property
    def is_leader(self) -> bool:
        """Whether this process evaluates now."""
        return self._leadership.is_leader

    def start(self) -> None:
        """Start the scheduler and the leadership loop."""
        self._wakeups.start()
        self._store.on_change(self._on_config_change)
        self._leadership.start()

    def stop(self) -> None:
        """Stop evaluating and give up leadership; safe to call twice."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wakeups.stop()
        self._leadership.stop()
        if self._pass_lock.acquire(timeout=30):
            self._pass_lock.release()
        self._walk.close()

    def is_alive(self) -> bool:
        """Whether the leadership loop is running and recently reported."""
        return self._leadership.is_alive()

    def wake_by(self, instant: datetime) -> None:
        """Make sure a pass runs at `instant` (or at once if it is past)."""
        if self.is_leader and not self._stopping.is_set():
            self._wakeups.wake_by(instant)

    def run_pass(self) -> None:
        """One pass: record what fell due, move open tickets to a new config, then plan the next wake."""
        if not self.is_leader:
            return
        if not self._pass_lock.acquire(blocking=False):
            self._rerun.set()
            return
        try:
            more = True
            while more and not self._stopping.is_set():
                self._rerun.clear()
                with metrics.EVALUATOR_PASS.time():
                    unfinished = self._pass_once()
                more = unfinished or self._rerun.is_set()
            self._schedule_next()
        except Exception:  # the pass retries at the next wake; one failure must not stop the evaluator
            logger.exception("SLA evaluation pass failed")
            self.wake_by(clock.utc_now() + RETRY_AFTER_FAILURE)
        finally:
            self._pass_lock.release()
        if self._rerun.is_set():  # a wake-up arrived after the last check of this pass
            self.wake_by(clock.utc_now())

    def fold_counts(self) -> None:
        """Fold the ticket count deltas appended since the last sweep into one row per segment."""
        if not self.is_leader:
            return
        try:
            with self._sessions() as session:
                summary.fold(session)
                session.commit()
        except Exception:  # counts stay correct unfolded; the next sweep tries again
            logger.exception("folding ticket counts failed")

    def _sweep(self) -> None:
        """The safety-net pass: also looks for tickets left on another config version."""
        self._stale_possible.set()
        self.fold_counts()
        self.run_pass()

    def _pass_once(self) -> bool:
        """Record what fell due and walk towards the config in force; True if the walk is not done."""
        started = time.monotonic()
        active = self._store.active
        now = clock.utc_now()
        walking = self._stale_possible.is_set() and (self._walk.in_progress or self._stale_found(active))
        # While a walk moves open tickets to another config, only what falls due meanwhile is
        # recorded between its chunks. What the new deadlines made overdue waits for the walk's
        # end, so that the new deadlines are all in force first.
        since = self._walk.recent(now) if walking else None
        recorded = passes.record_due(self._sessions, since=since, active=active, stopping=self._stopping)
        walk_unfinished = False
        if walking:
            while not self._stopping.is_set() and time.monotonic() - started < PASS_TIME_BUDGET_SECONDS:
                if self._walk_step(active):
                    recorded += passes.record_due(self._sessions, active=active, stopping=self._stopping)
                    break
                recorded += passes.record_due(
                    self._sessions, since=self._walk.recent(now), active=active, stopping=self._stopping
                )
            else:
                walk_unfinished = True
        if recorded:
            logger.info("recorded %s SLA events in %.3f s", recorded, time.monotonic() - started)
        return walk_unfinished

    def _stale_found(self, active: ActiveConfig) -> bool:
        """Whether open tickets are left on another config; clears the flag when none are."""
        self._stale_possible.clear()
        with self._sessions() as session:
            stale = walk.anything_stale(session, active)
        self._keep_flag_if(stale, active)
        return stale

    def _walk_step(self, active: ActiveConfig) -> bool:
        """One step of the walk; True once a whole walk found nothing left to move."""
        if not self._walk.step(active):
            return False
        self._stale_possible.clear()
        self._keep_flag_if(False, active)
        return True

    def _keep_flag_if(self, stale: bool, active: ActiveConfig) -> None:
        """Set the stale flag again, just cleared, if tickets are stale or another config came in meanwhile.

        Cleared before this check, so a reload announced in between sets it again and is not lost.
        """
        if stale or self._store.active.version != active.version:
            self._stale_possible.set()

    def _schedule_next(self) -> None:
        if self._stopping.is_set():
            return
        if self._stale_possible.is_set():
            self._wakeups.wake_at(clock.utc_now())
            return
        with self._sessions() as session:
            upcoming = passes.next_check_at(session)
        if upcoming is not None:
            self._wakeups.wake_at(upcoming)

    def _on_config_change(self, active: ActiveConfig) -> None:
        self._stale_possible.set()
        self.wake_by(clock.utc_now())

    def _on_lead(self) -> None:
        self._stale_possible.set()
        self.wake_by(clock.utc_now())

    def _on_wakeup(self, payload: str) -> None:
        try:
            instant = datetime.fromisoformat(payload)
        except ValueError:
            instant = clock.utc_now()
        self.wake_by(instant)
