"""PostgreSQL NOTIFY channels that connect processes sharing one database."""

from typing import Final

# Ingestion, in any process, announces the earliest deadline it wrote; the evaluating process listens.
WAKEUP_CHANNEL: Final = "sla_wakeup"
