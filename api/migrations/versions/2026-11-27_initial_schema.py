"""Initial schema: tickets with their clock summary, snapshot history, SLA events, config versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 09:34:03.933830
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION sla_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sla_events is append-only: % refused', TG_OP;
END;
$$
"""


def upgrade() -> None:
    """Apply this migration."""
    _create_config_versions()
    _create_tickets()
    _create_events()
    _create_snapshots()


def _create_config_versions() -> None:
    op.create_table(
        "sla_config_versions",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_sla_config_versions")),
    )


def _create_tickets() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("customer_tier", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("response_phase", sa.Text(), nullable=False),
        sa.Column("response_elapsed_us", sa.BigInteger(), nullable=False),
        sa.Column("response_running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_target_us", sa.BigInteger(), nullable=False),
        sa.Column("response_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_phase", sa.Text(), nullable=False),
        sa.Column("resolution_elapsed_us", sa.BigInteger(), nullable=False),
        sa.Column("resolution_running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_target_us", sa.BigInteger(), nullable=False),
        sa.Column("resolution_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "events_recorded",
            sa.SmallInteger(),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column(
            "next_check_at",
            sa.DateTime(timezone=True),
            sa.Computed(
                "LEAST(CASE WHEN events_recorded & 1 = 0 THEN response_alert_at END, CASE WHEN events_recorded & 2 = 0 THEN response_due_at END, CASE WHEN events_recorded & 4 = 0 THEN resolution_alert_at END, CASE WHEN events_recorded & 8 = 0 THEN resolution_due_at END)",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "deadline_at",
            sa.DateTime(timezone=True),
            sa.Computed(
                "LEAST(CASE WHEN response_phase <> 'stopped' THEN response_due_at END, CASE WHEN resolution_phase <> 'stopped' THEN resolution_due_at END)",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index("ix_tickets_config_version", "tickets", ["config_version"], unique=False)
    op.create_index("ix_tickets_deadline_at_id", "tickets", ["deadline_at", "id"], unique=False)
    op.create_index(
        "ix_tickets_next_check_at",
        "tickets",
        ["next_check_at"],
        unique=False,
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
    )


def _create_events() -> None:
    op.create_table(
        "sla_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Text(), nullable=False),
        sa.Column("clock", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("customer_tier", sa.Text(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("clock IN ('response', 'resolution')", name=op.f("ck_sla_events_clock")),
        sa.CheckConstraint("kind IN ('alert', 'breach')", name=op.f("ck_sla_events_kind")),
        sa.ForeignKeyConstraint(
            ["config_version"],
            ["sla_config_versions.version"],
            name=op.f("fk_sla_events_config_version_sla_config_versions"),
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_sla_events_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_events")),
        sa.UniqueConstraint("ticket_id", "clock", "kind", name="uq_sla_events_ticket_clock_kind"),
    )
    op.create_index(
        "ix_sla_events_detected_at_id",
        "sla_events",
        ["detected_at", "id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_tickets_config_version_sla_config_versions"),
        "tickets",
        "sla_config_versions",
        ["config_version"],
        ["version"],
    )
    # The audit log must never change: refuse updates and deletes at the database itself.
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER sla_events_append_only BEFORE UPDATE OR DELETE ON sla_events "
        "FOR EACH ROW EXECUTE FUNCTION sla_events_refuse_change()"
    )


def _create_snapshots() -> None:
    op.create_table(
        "ticket_snapshots",
        sa.Column("ticket_id", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("customer_tier", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "updated_at", name=op.f("pk_ticket_snapshots")),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("ticket_snapshots")
    op.drop_index("ix_sla_events_detected_at_id", table_name="sla_events")
    op.execute("DROP TRIGGER sla_events_append_only ON sla_events")
    op.execute("DROP FUNCTION sla_events_refuse_change()")
    op.drop_table("sla_events")
    op.drop_index(
        "ix_tickets_next_check_at",
        table_name="tickets",
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
    )
    op.drop_index("ix_tickets_deadline_at_id", table_name="tickets")
    op.drop_index("ix_tickets_config_version", table_name="tickets")
    op.drop_constraint(
        op.f("fk_tickets_config_version_sla_config_versions"),
        "tickets",
        type_="foreignkey",
    )
    op.drop_table("tickets")
    op.drop_table("sla_config_versions")
