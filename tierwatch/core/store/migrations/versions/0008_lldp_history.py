"""LLDP verdicts and unexpected neighbours over time

Revision ID: 0008_lldp_history
Revises: 0007_power_readings
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_lldp_history"
down_revision = "0007_power_readings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lldp_verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subsystem", sa.String(length=32), nullable=False),
        sa.Column("feeder", sa.String(length=255), nullable=False),
        sa.Column("node", sa.String(length=255), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("port", sa.String(length=255), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("expected", sa.String(length=255), nullable=False),
        sa.Column("seen_on", sa.Text(), nullable=False),
        sa.Column("start_ts", sa.Float(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=True),
        sa.Column("writer", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lldp_verdicts", schema=None) as batch_op:
        batch_op.create_index("ix_lldp_verdicts_link", ["feeder", "node", "port", "start_ts"],
                              unique=False)
        batch_op.create_index("ix_lldp_verdicts_open", ["end_ts"], unique=False)
    op.create_table(
        "lldp_unexpected",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("port", sa.String(length=255), nullable=False),
        sa.Column("declared_port", sa.String(length=255), nullable=True),
        sa.Column("chassis_id", sa.String(length=255), nullable=False),
        sa.Column("sys_name", sa.String(length=255), nullable=False),
        sa.Column("neighbour_port", sa.String(length=255), nullable=False),
        sa.Column("neighbour_device", sa.String(length=255), nullable=True),
        sa.Column("start_ts", sa.Float(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=True),
        sa.Column("writer", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lldp_unexpected", schema=None) as batch_op:
        batch_op.create_index("ix_lldp_unexpected_port", ["device", "port", "start_ts"],
                              unique=False)
        batch_op.create_index("ix_lldp_unexpected_open", ["end_ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lldp_unexpected", schema=None) as batch_op:
        batch_op.drop_index("ix_lldp_unexpected_open")
        batch_op.drop_index("ix_lldp_unexpected_port")
    op.drop_table("lldp_unexpected")
    with op.batch_alter_table("lldp_verdicts", schema=None) as batch_op:
        batch_op.drop_index("ix_lldp_verdicts_open")
        batch_op.drop_index("ix_lldp_verdicts_link")
    op.drop_table("lldp_verdicts")
