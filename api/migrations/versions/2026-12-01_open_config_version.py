"""An index of the config versions open tickets are on, so the sweep finds a stale one without a scan.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index open tickets by config version."""
    op.create_index(
        "ix_tickets_open_config_version",
        "tickets",
        ["config_version"],
        postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_tickets_open_config_version", table_name="tickets")
