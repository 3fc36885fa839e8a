"""Events and deliveries keep their references without foreign keys.

A pass inserts each event and each of its deliveries in the statement that locks the ticket; the
per-row checks of those keys locked the referenced ticket, config version and event row once more
for every inserted row, and were a third of a pass that queues deliveries to three destinations.
The service never deletes tickets, events or versions (a trigger refuses updates and deletes of
events); whoever truncates tickets by hand truncates sla_events and notification_deliveries with
them, as `TRUNCATE ... CASCADE` did.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = [
    ("sla_events", "fk_sla_events_ticket_id_tickets", ["ticket_id"], "tickets", ["id"]),
    (
        "sla_events",
        "fk_sla_events_config_version_sla_config_versions",
        ["config_version"],
        "sla_config_versions",
        ["version"],
    ),
    ("notification_deliveries", "fk_notification_deliveries_event_id_sla_events", ["event_id"], "sla_events", ["id"]),
]


def upgrade() -> None:
    """Drop the keys."""
    for table, name, _, _, _ in KEYS:
        op.drop_constraint(op.f(name), table, type_="foreignkey")


def downgrade() -> None:
    """Bring the keys back."""
    for table, name, columns, referred, referred_columns in KEYS:
        op.create_foreign_key(op.f(name), table, referred, columns, referred_columns)
