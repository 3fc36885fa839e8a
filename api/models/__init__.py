"""Every table, in one place that each domain can import: tickets and their history, events,
notification deliveries, config versions, counts.

Alembic builds the schema these describe; `tests/migrations` checks that the two agree.
"""

from api.models.config_versions import SlaConfigVersion
from api.models.counts import EventCountDelta, TicketCountDelta
from api.models.events import SlaEvent
from api.models.keys import ApiKey, ServiceSecret
from api.models.leases import Lease
from api.models.notifications import NotificationDelivery, NotificationDestination
from api.models.tickets import Ticket, TicketSnapshot

__all__ = [
    "ApiKey",
    "EventCountDelta",
    "Lease",
    "NotificationDelivery",
    "NotificationDestination",
    "ServiceSecret",
    "SlaConfigVersion",
    "SlaEvent",
    "Ticket",
    "TicketCountDelta",
    "TicketSnapshot",
]
