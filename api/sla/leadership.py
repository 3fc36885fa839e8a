"""Which API process evaluates: a PostgreSQL session advisory lock held on a dedicated connection.

When the leading process dies its connection closes, the lock is freed, and a standby that retries
every `SLA_LEADER_RETRY_SECONDS` takes over. The leader LISTENs on the wake-up channel, where every
ingestion (from any process) announces its earliest new deadline.
"""

import logging
import threading
import time
from collections.abc import Callable

import psycopg

from api.kit.channels import WAKEUP_CHANNEL

logger = logging.getLogger(__name__)

LEADER_LOCK_KEY = 7_306_241_000
# A loop that has not reported for this long is considered stuck.
HEARTBEAT_TIMEOUT_SECONDS = 10.0


class Leadership:
    """Runs the leader election loop in a thread, and hands wake-up announcements to `on_wakeup`."""

    def __init__(
        self,
        *,
        database_url: str,
        retry_seconds: float,
        on_lead: Callable[[], None],
        on_wakeup: Callable[[str], None],
    ) -> None:
        self._database_url = database_url
        self._retry = retry_seconds
        self._on_lead = on_lead
        self._on_wakeup = on_wakeup
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sla-leader", daemon=True)
        self.is_leader = False
        self.heartbeat_at = time.monotonic()

    def start(self) -> None:
        """Start competing for the lead."""
        self._thread.start()

    def stop(self) -> None:
        """Give up the lead and stop competing."""
        self._stopping.set()
        self._thread.join(timeout=5)

    def is_alive(self) -> bool:
        """Whether the election loop runs and recently reported."""
        return self._thread.is_alive() and time.monotonic() - self.heartbeat_at < HEARTBEAT_TIMEOUT_SECONDS

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._lead_once()
            except psycopg.Error as exc:
                logger.warning("evaluator lost its database connection: %s", exc)
            finally:
                if self.is_leader:
                    logger.info("this process no longer evaluates")
                self.is_leader = False
            self._stopping.wait(self._retry)

    def _lead_once(self) -> None:
        with psycopg.connect(self._database_url, autocommit=True) as connection:
            if not self._acquire(connection):
                return
            connection.execute(f"LISTEN {WAKEUP_CHANNEL}")
            self.is_leader = True
            logger.info("this process now evaluates SLA clocks")
            self._on_lead()
            while not self._stopping.is_set():
                self.heartbeat_at = time.monotonic()
                for notification in connection.notifies(timeout=1.0):
                    self._on_wakeup(notification.payload)
                connection.execute("SELECT 1")

    def _acquire(self, connection: psycopg.Connection[tuple[object, ...]]) -> bool:
        """Try for the lock until it is ours (True) or the loop stops (False)."""
        while not self._stopping.is_set():
            self.heartbeat_at = time.monotonic()
            acquired = connection.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
            if acquired and acquired[0]:
                return True
            self._stopping.wait(self._retry)
        return False
