"""Which API process evaluates: the holder of the `evaluator` lease, renewed every second.

The leader renews the lease (it lapses `LEASE_SECONDS` after the last renewal) on a dedicated
connection, on which it also LISTENs to the wake-up channel, where every ingestion (from any
process) announces its earliest new deadline. A standby tries every `SLA_LEADER_RETRY_SECONDS` to
take a lapsed lease. A leader that dies, is cut off or is frozen stops renewing, and a standby
takes over once the lease lapses; if the frozen one wakes, its next renewal fails and it steps
down, and whatever it wrote meanwhile is harmless, since events and deliveries are unique. The
lease's instants are the database's own clock, the one clock all processes share.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable

import psycopg

from api.kit.channels import WAKEUP_CHANNEL

logger = logging.getLogger(__name__)

LEASE_NAME = "evaluator"
LEASE_SECONDS = 5.0
RENEW_SECONDS = 1.0
# A loop that has not reported for this long is considered stuck.
HEARTBEAT_TIMEOUT_SECONDS = 10.0

TAKE_OR_RENEW = """
    UPDATE leases SET holder = %(me)s, expires_at = now() + %(seconds)s * interval '1 second'
    WHERE name = %(name)s AND (holder = %(me)s OR expires_at < now())
    RETURNING holder
"""
RELEASE = "UPDATE leases SET expires_at = '-infinity' WHERE name = %(name)s AND holder = %(me)s"


class Leadership:
    """Runs the lease loop in a thread, and hands wake-up announcements to `on_wakeup` while leading."""

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
        self._me = f"{uuid.uuid4()}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sla-leader", daemon=True)
        self.is_leader = False
        self.heartbeat_at = time.monotonic()

    def start(self) -> None:
        """Start competing for the lead."""
        self._thread.start()

    def stop(self) -> None:
        """Give up the lead (a standby takes it at once) and stop competing."""
        self._stopping.set()
        self._thread.join(timeout=5)

    def is_alive(self) -> bool:
        """Whether the lease loop runs and recently reported."""
        return self._thread.is_alive() and time.monotonic() - self.heartbeat_at < HEARTBEAT_TIMEOUT_SECONDS

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._lead_once()
            except psycopg.Error as exc:
                logger.warning("evaluator lost its database connection: %s", exc)
            finally:
                self._step_down()
            self._stopping.wait(self._retry)

    def _step_down(self) -> None:
        if self.is_leader:
            logger.info("this process no longer evaluates")
        self.is_leader = False

    def _renew(self, connection: psycopg.Connection[tuple[object, ...]]) -> bool:
        row = connection.execute(TAKE_OR_RENEW, {"me": self._me, "seconds": LEASE_SECONDS, "name": LEASE_NAME})
        return row.fetchone() is not None

    def _lead_once(self) -> None:
        with psycopg.connect(self._database_url, autocommit=True, connect_timeout=2) as connection:
            while not self._renew(connection):
                self.heartbeat_at = time.monotonic()
                if self._stopping.wait(self._retry):
                    return
            connection.execute(f"LISTEN {WAKEUP_CHANNEL}")
            self.is_leader = True
            logger.info("this process now evaluates SLA clocks")
            self._on_lead()
            try:
                while not self._stopping.is_set():
                    self.heartbeat_at = time.monotonic()
                    renew_by = time.monotonic() + RENEW_SECONDS
                    while (left := renew_by - time.monotonic()) > 0 and not self._stopping.is_set():
                        for notification in connection.notifies(timeout=left):
                            self._on_wakeup(notification.payload)
                    if not self._renew(connection):
                        logger.warning("the evaluator lease lapsed and another process took it")
                        return
            finally:
                if self._stopping.is_set():
                    connection.execute(RELEASE, {"name": LEASE_NAME, "me": self._me})
