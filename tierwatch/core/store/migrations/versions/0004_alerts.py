"""alerting: alerts, alert events, the notification outbox, maintenance silences, traps

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("alertname", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("annotations", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("active_since", sa.Float(), nullable=False),
        sa.Column("fired_ts", sa.Float(), nullable=True),
        sa.Column("resolved_ts", sa.Float(), nullable=True),
        sa.Column("notified_ts", sa.Float(), nullable=True),
        sa.Column("escalated_ts", sa.Float(), nullable=True),
        sa.Column("muted", sa.String(length=64), nullable=True),
        sa.Column("acked_ts", sa.Float(), nullable=True),
        sa.Column("acked_by", sa.String(length=128), nullable=True),
        sa.Column("ack_comment", sa.Text(), nullable=True),
        sa.Column("ack_until", sa.Float(), nullable=True),
        sa.Column("silence_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_fingerprint", ["fingerprint", "state"], unique=False)
        batch_op.create_index("ix_alerts_state", ["state"], unique=False)

    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("alertname", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("maintenance_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.create_index("ix_alert_events_alert", ["alert_id"], unique=False)
        batch_op.create_index("ix_alert_events_ts", ["ts"], unique=False)

    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("receiver", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_ts", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_ts", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["state", "next_ts"], unique=False)

    op.create_table(
        "maintenance_silences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_start", sa.Float(), nullable=False),
        sa.Column("matchers", sa.String(length=255), nullable=False),
        sa.Column("silence_id", sa.String(length=64), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("expired_ts", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("maintenance_silences", schema=None) as batch_op:
        batch_op.create_index("ix_maintenance_silences_key",
                              ["window_id", "occurrence_start", "matchers"], unique=True)

    op.create_table(
        "trap_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("trap_oid", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trap_events", schema=None) as batch_op:
        batch_op.create_index("ix_trap_events_ts", ["ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trap_events", schema=None) as batch_op:
        batch_op.drop_index("ix_trap_events_ts")
    op.drop_table("trap_events")
    with op.batch_alter_table("maintenance_silences", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_silences_key")
    op.drop_table("maintenance_silences")
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
    op.drop_table("notification_outbox")
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_events_ts")
        batch_op.drop_index("ix_alert_events_alert")
    op.drop_table("alert_events")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_state")
        batch_op.drop_index("ix_alerts_fingerprint")
    op.drop_table("alerts")
