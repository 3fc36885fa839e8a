"""PostgreSQL NOTIFY channels that connect processes sharing one database."""

from typing import Final

# Ingestion, in any process, announces the earliest deadline it wrote; the evaluating process listens.
WAKEUP_CHANNEL: Final = "sla_wakeup"

# A pass announces the newest event id it recorded; every process relays new events to its streams.
EVENTS_CHANNEL: Final = "sla_events"

# A pass announces that it queued notification deliveries; every process's delivery worker wakes.
DELIVERIES_CHANNEL: Final = "sla_deliveries"

# A key was revoked; every process forgets the keys it knows.
KEYS_CHANNEL: Final = "sla_keys"
