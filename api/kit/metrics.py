"""Prometheus metrics of the process, in one registry (`GET /metrics` serves it).

Names follow Prometheus' conventions: `_total` for counters, `_seconds` for durations, base units,
and labels with a bounded set of values (never a ticket id). Counters count what this process
did: a pass's events in the process that leads, snapshots in the one that took them.
"""

import time
from collections.abc import Sequence
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry(auto_describe=True)

SNAPSHOTS = Counter(
    "sla_snapshots",
    "Snapshots taken, by outcome: created, updated, unchanged, stale or conflict",
    ["outcome"],
    registry=REGISTRY,
)
SNAPSHOT_GROUP_REQUESTS = Histogram(
    "sla_snapshot_group_requests",
    "Single-snapshot requests that shared one CLAIM statement (1: a request that found nothing in flight)",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128, 256, 1000),
    registry=REGISTRY,
)
BATCHES_REJECTED = Counter(
    "sla_snapshot_batches_rejected", "POST /tickets bodies refused as a whole (nothing written)", registry=REGISTRY
)
EVENTS = Counter(
    "sla_events", "Alerts and breaches recorded by this process's passes", ["kind", "clock"], registry=REGISTRY
)
EVENT_DELAY = Histogram(
    "sla_event_delay_seconds",
    "How long after its due instant each event was recorded (detected_at - due_at)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
    registry=REGISTRY,
)
EVALUATOR_LEADER = Gauge(
    "sla_evaluator_leader", "1 in the process whose evaluator holds the lease, 0 elsewhere", registry=REGISTRY
)
EVALUATOR_PASS = Histogram(
    "sla_evaluator_pass_seconds",
    "Duration of the evaluator's passes",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
NEXT_DUE = Gauge(
    "sla_next_due_seconds",
    "Seconds until the next deadline not yet recorded falls due (negative: overdue; NaN: none)",
    registry=REGISTRY,
)
CONFIG_VERSION = Gauge("sla_config_version", "Version of the SLA config in force", registry=REGISTRY)
CONFIG_RELOADS = Counter(
    "sla_config_reloads",
    "Reads of the SLA config file, by result: applied, unchanged or refused",
    ["result"],
    registry=REGISTRY,
)
NOTIFICATION_DELIVERIES = Counter(
    "sla_notification_deliveries",
    "Delivery attempts by how they ended: delivered, retry, dead or disabled (a 410 Gone)",
    ["destination", "result"],
    registry=REGISTRY,
)
NOTIFICATION_PENDING = Gauge(
    "sla_notification_pending", "Deliveries not yet delivered nor dead, at the last scrape", registry=REGISTRY
)
NOTIFICATION_OLDEST_PENDING = Gauge(
    "sla_notification_oldest_pending_seconds",
    "Age of the oldest pending delivery at the last scrape (0 when none)",
    registry=REGISTRY,
)

HTTP_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
HTTP_REQUESTS = Counter(
    "sla_http_requests",
    "Requests by route template, method and status",
    ["handler", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "sla_http_request_duration_seconds",
    "Durations of requests, from their head to their last byte, by route template and method",
    ["handler", "method"],
    buckets=HTTP_DURATION_BUCKETS,
    registry=REGISTRY,
)
# The handler of a request no route takes (a 404): the path itself would make labels without bound.
UNMATCHED: Final = "none"
UNCOUNTED: Final = frozenset({"/metrics"})
# Any other method a client sends is counted as "other", so that it cannot add series without bound.
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetrics:
    """ASGI middleware: count and time every request by route template (`/tickets/{ticket_id:path}`), method, status.

    The template is that of the route the router picked (`scope["route"]`, seen here because the
    edge passes the same scope on); a request answered before routing (refused at the edge) or
    whose scope the edge replaced (a gzipped body) is matched against `routes` here.
    """

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes
        self._counted: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._count(scope, status, time.perf_counter() - started)

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        handler = self._handler(scope)
        if handler in UNCOUNTED:
            return
        method = scope["method"] if scope["method"] in METHODS else "other"
        key = (handler, method, status)
        children = self._counted.get(key)
        if children is None:
            children = (HTTP_REQUESTS.labels(handler, method, str(status)), HTTP_DURATION.labels(handler, method))
            self._counted[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def _handler(self, scope: Scope) -> str:
        route = scope.get("route")
        if not isinstance(getattr(route, "path", None), str):
            route, partial = None, None
            for candidate in self.routes:
                match, _ = candidate.matches(scope)
                if match is Match.FULL:
                    route = candidate
                    break
                if match is Match.PARTIAL and partial is None:
                    partial = candidate
            route = route or partial
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else UNMATCHED
