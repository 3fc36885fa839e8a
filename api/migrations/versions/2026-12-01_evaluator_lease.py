"""Leadership as a lease: the evaluating process renews a row, and a frozen one loses it when it lapses.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the leases, with the evaluator's free."""
    op.create_table(
        "leases",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.execute("INSERT INTO leases (name, holder, expires_at) VALUES ('evaluator', NULL, '-infinity')")


def downgrade() -> None:
    """Drop them."""
    op.drop_table("leases")
