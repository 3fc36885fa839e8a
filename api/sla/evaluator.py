"""Runs evaluation passes in the API process, one process at a time across all replicas.

Leadership is a PostgreSQL session advisory lock held on a dedicated connection: when the
leading process dies its connection closes, the lock is freed, and a standby that retries every
`SLA_LEADER_RETRY_SECONDS` takes over. The leader LISTENs on `sla_wakeup`, where every ingestion
(from any process) announces its earliest new deadline, and schedules an APScheduler date job
for the next instant anything falls due; an interval job every `SLA_SWEEP_INTERVAL_SECONDS` is
only the safety net.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from apscheduler.schedulers.background import BackgroundScheduler
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api import clock
from api.sla import service
from api.sla_config.store import ActiveConfig, ConfigStore
from api.tickets import counts
from api.tickets.service import WAKEUP_CHANNEL

logger = logging.getLogger(__name__)

LEADER_LOCK_KEY = 7_306_241_000
PASS_TIME_BUDGET_SECONDS = 1.0
WALK_RECENT_MARGIN = timedelta(seconds=1)
# Moving tickets to a new config walks this many id ranges at once, each on its own connection,
# so that PostgreSQL can use both cores of a small machine.
WALK_LANES = 2
# APScheduler drops a run that finds its job's instance limit reached, and with it the wake-up;
# the pass lock, not this limit, is what keeps passes from overlapping.
WAKE_JOB_INSTANCES = 4


@dataclass
class EvaluatorStatus:
    """What the evaluator of this process last did."""

    is_leader: bool = False
    heartbeat_at: float = field(default_factory=time.monotonic)
    last_pass_at: datetime | None = None
    last_pass_recorded: int = 0
    last_pass_seconds: float = 0.0
    passes: int = 0


@dataclass
class _Lane:
    """One id range of a walk: (after, upto], and whether it is walked to its end."""

    after: str
    upto: str | None
    done: bool = False


@dataclass
class _Walk:
    """Where the walk moving open tickets to a config version stands, and how many it moved."""

    version: int = 0
    lanes: list[_Lane] = field(default_factory=list)
    moved: int = 0
    started_at: datetime | None = None

    def recent(self, now: datetime) -> datetime:
        """Events due after this instant are recorded while the walk goes on: those due since it began."""
        if self.started_at is None:
            self.started_at = now
        return self.started_at - WALK_RECENT_MARGIN


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
        self._database_url = database_url
        self._sessions = sessions
        self._store = store
        self._sweep_interval = sweep_interval_seconds
        self._retry = leader_retry_seconds
        self._stopping = threading.Event()
        self._pass_lock = threading.Lock()
        self._rerun = threading.Event()
        # Set when open tickets may carry another config's deadlines: at start, after a reload, and
        # on each sweep (a replica with another file may have written some). Finding none is a
        # scan of the open tickets, too dear for every pass.
        self._stale_possible = threading.Event()
        self._stale_possible.set()
        self._walk = _Walk()
        self._lane_pool = ThreadPoolExecutor(max_workers=WALK_LANES, thread_name_prefix="sla-walk")
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._leader_thread = threading.Thread(target=self._lead, name="sla-leader", daemon=True)
        self.status = EvaluatorStatus()

    def start(self) -> None:
        """Start the scheduler and the leadership loop."""
        self._scheduler.start()
        self._scheduler.add_job(
            self._sweep,
            "interval",
            seconds=self._sweep_interval,
            id="sla_sweep",
            coalesce=True,
            max_instances=WAKE_JOB_INSTANCES,
            misfire_grace_time=None,
        )
        self._store.on_change(self._on_config_change)
        self._leader_thread.start()

    def stop(self) -> None:
        """Stop evaluating and give up leadership; safe to call twice."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        # Not wait=True: a running pass may be adding its next wake-up, which needs the lock shutdown holds.
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._leader_thread.join(timeout=5)
        if self._pass_lock.acquire(timeout=30):
            self._pass_lock.release()
        self._lane_pool.shutdown(wait=False)

    def is_alive(self) -> bool:
        """Whether the leadership loop is running and recently reported."""
        return self._leader_thread.is_alive() and time.monotonic() - self.status.heartbeat_at < 10.0

    def wake_at(self, instant: datetime) -> None:
        """Make sure a pass runs at `instant` (or at once if it is past)."""
        if not self.status.is_leader or self._stopping.is_set():
            return
        job = self._scheduler.get_job("sla_wake")
        if job is not None and job.next_run_time is not None and job.next_run_time <= instant:
            return
        self._set_wake(instant)

    def _set_wake(self, instant: datetime) -> None:
        """(Re)schedule the one wake-up job; a past instant runs it at once."""
        self._scheduler.add_job(
            self.run_pass,
            "date",
            run_date=max(instant, datetime.now(UTC)),
            id="sla_wake",
            replace_existing=True,
            max_instances=WAKE_JOB_INSTANCES,
            misfire_grace_time=None,
        )

    def _sweep(self) -> None:
        """The safety-net pass: also looks for tickets left on another config version."""
        self._stale_possible.set()
        self.fold_counts()
        self.run_pass()

    def fold_counts(self) -> None:
        """Fold the ticket count deltas appended since the last sweep into one row per segment."""
        if not self.status.is_leader:
            return
        try:
            with self._sessions() as session:
                counts.fold(session)
                session.commit()
        except Exception:  # counts stay correct unfolded; the next sweep tries again
            logger.exception("folding ticket counts failed")

    def run_pass(self) -> None:
        """One pass: record what fell due, move open tickets to a new config, then plan the next wake."""
        if not self.status.is_leader:
            return
        if not self._pass_lock.acquire(blocking=False):
            self._rerun.set()
            return
        try:
            more = True
            while more and not self._stopping.is_set():
                self._rerun.clear()
                more = self._pass_once() or self._rerun.is_set()
            self._schedule_next()
        except Exception:  # the pass retries at the next wake; one failure must not stop the evaluator
            logger.exception("SLA evaluation pass failed")
            self.wake_at(datetime.now(UTC) + timedelta(seconds=1))
        finally:
            self._pass_lock.release()
        if self._rerun.is_set():  # a wake-up arrived after the last check of this pass
            self.wake_at(datetime.now(UTC))

    def _pass_once(self) -> bool:
        started = time.monotonic()
        active = self._store.active
        now = clock.utc_now()
        walking = self._stale_possible.is_set()
        # While a walk moves open tickets to another config, only what falls due meanwhile is
        # recorded between its chunks. What the new deadlines made overdue waits for the walk's
        # end, so that the new deadlines are all in force first.
        recorded = self._fire_all(now, since=self._walk.recent(now) if walking else None)
        more_stale = False
        if walking:
            while time.monotonic() - started < PASS_TIME_BUDGET_SECONDS:
                if self._walk_to(active):
                    recorded += self._fire_all(clock.utc_now())
                    break
                recorded += self._fire_all(clock.utc_now(), since=self._walk.recent(now))
            else:
                more_stale = True
        self.status.last_pass_at = now
        self.status.last_pass_recorded = recorded
        self.status.last_pass_seconds = time.monotonic() - started
        self.status.passes += 1
        if recorded:
            logger.info("recorded %s SLA events in %.3f s", recorded, self.status.last_pass_seconds)
        return more_stale

    def _walk_to(self, active: ActiveConfig) -> bool:
        """Move one chunk of open tickets per lane to `active`; True once a whole walk found none to move."""
        walk = self._walk
        if walk.version != active.version or not walk.lanes:
            with self._sessions() as session:
                bounds = ["", *service.walk_splits(session, WALK_LANES)]
            walk.version, walk.moved, walk.started_at = active.version, 0, None
            walk.lanes = [_Lane(after, upto) for after, upto in zip(bounds, [*bounds[1:], None], strict=True)]
        pending = [lane for lane in walk.lanes if not lane.done]
        walk.moved += sum(self._lane_pool.map(lambda lane: self._walk_lane(lane, active), pending))
        if not all(lane.done for lane in walk.lanes):
            return False
        # A walk that moved tickets may have skipped some a writer held locked: walk once more.
        done = walk.moved == 0
        walk.lanes, walk.moved, walk.started_at = [], 0, None
        if done and self._store.active.version == active.version:
            self._stale_possible.clear()
        return done

    def _walk_lane(self, lane: _Lane, active: ActiveConfig) -> int:
        with self._sessions() as session:
            try:
                result = service.recompute_chunk(session, active=active, after=lane.after, upto=lane.upto)
                session.commit()
            except DBAPIError as exc:
                if not isinstance(exc.orig, pg_errors.DeadlockDetected):
                    raise
                logger.warning("a config walk chunk met a writer in a deadlock; it runs again")
                return 0
        lane.after = result.next_after or lane.after
        lane.done = result.next_after is None
        return result.moved

    def _fire_all(self, now: datetime, since: datetime | None = None) -> int:
        with self._sessions() as session:
            return service.record_due(session, now=now, since=since)

    def _schedule_next(self) -> None:
        if self._stopping.is_set():
            return
        with self._sessions() as session:
            upcoming = service.next_check_at(session)
        if self._stale_possible.is_set():
            upcoming = datetime.now(UTC)
        if upcoming is not None:
            self._set_wake(upcoming)

    def _on_config_change(self, active: ActiveConfig) -> None:
        self._stale_possible.set()
        if self.status.is_leader:
            self.wake_at(datetime.now(UTC))

    def _lead(self) -> None:
        while not self._stopping.is_set():
            try:
                self._lead_once()
            except psycopg.Error as exc:
                logger.warning("evaluator lost its database connection: %s", exc)
            finally:
                if self.status.is_leader:
                    logger.info("this process no longer evaluates")
                self.status.is_leader = False
            self._stopping.wait(self._retry)

    def _lead_once(self) -> None:
        with psycopg.connect(self._database_url, autocommit=True) as connection:
            while not self._stopping.is_set():
                self.status.heartbeat_at = time.monotonic()
                acquired = connection.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
                if acquired and acquired[0]:
                    break
                self._stopping.wait(self._retry)
            else:
                return
            connection.execute(f"LISTEN {WAKEUP_CHANNEL}")
            self._stale_possible.set()
            self.status.is_leader = True
            logger.info("this process now evaluates SLA clocks")
            self.wake_at(datetime.now(UTC))
            while not self._stopping.is_set():
                self.status.heartbeat_at = time.monotonic()
                for notification in connection.notifies(timeout=1.0):
                    self._on_notification(notification.payload)
                connection.execute("SELECT 1")

    def _on_notification(self, payload: str) -> None:
        try:
            instant = datetime.fromisoformat(payload)
        except ValueError:
            instant = datetime.now(UTC)
        self.wake_at(instant)
