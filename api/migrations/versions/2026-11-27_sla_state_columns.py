"""SLA state columns: generated breach_at and risk_at, indexed, so state filters are range scans.

The index on config_version goes: the evaluator looks for stale tickets only after a config
change or on its sweep, and an index updated by every pass cost more than those scans.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 11:12:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BREACH_SQL = "LEAST(response_due_at, resolution_due_at)"
RISK_SQL = (
    "LEAST("
    "CASE WHEN response_phase <> 'stopped' THEN response_alert_at END, "
    "CASE WHEN resolution_phase <> 'stopped' THEN resolution_alert_at END)"
)


def upgrade() -> None:
    """Add the generated columns and their indexes."""
    op.add_column(
        "tickets", sa.Column("breach_at", sa.DateTime(timezone=True), sa.Computed(BREACH_SQL, persisted=True))
    )
    op.add_column("tickets", sa.Column("risk_at", sa.DateTime(timezone=True), sa.Computed(RISK_SQL, persisted=True)))
    op.create_index("ix_tickets_breach_at", "tickets", ["breach_at"])
    op.create_index("ix_tickets_risk_at", "tickets", ["risk_at"])
    op.drop_index("ix_tickets_config_version", table_name="tickets")


def downgrade() -> None:
    """Drop them, and bring back the config_version index."""
    op.create_index("ix_tickets_config_version", "tickets", ["config_version"])
    op.drop_index("ix_tickets_risk_at", table_name="tickets")
    op.drop_index("ix_tickets_breach_at", table_name="tickets")
    op.drop_column("tickets", "risk_at")
    op.drop_column("tickets", "breach_at")
