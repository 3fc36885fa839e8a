"""Tickets keep their config version without a foreign key.

Moving open tickets to a new config rewrites `config_version` on every one of them, and the
per-row check of that key cost a fifth of each chunk. The service writes only versions it has
registered, and versions are never deleted; events keep their key to the version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 13:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the key."""
    op.drop_constraint(op.f("fk_tickets_config_version_sla_config_versions"), "tickets", type_="foreignkey")


def downgrade() -> None:
    """Bring the key back."""
    op.create_foreign_key(
        op.f("fk_tickets_config_version_sla_config_versions"),
        "tickets",
        "sla_config_versions",
        ["config_version"],
        ["version"],
    )
