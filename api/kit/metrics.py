"""Prometheus metrics of the process, in one registry (`GET /metrics` serves it).

Names follow Prometheus' conventions: `_total` for counters, `_seconds` for durations, base units,
and labels with a bounded set of values (never a ticket id).
"""

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

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
