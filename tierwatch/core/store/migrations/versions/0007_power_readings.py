"""The power room's readings (facility and IT power, fuel, capacity group demand)

Revision ID: 0007_power_readings
Revises: 0006_certificates
Create Date: 2026-12-06 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_power_readings"
down_revision = "0006_certificates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "power_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("power_readings", schema=None) as batch_op:
        batch_op.create_index("ix_power_readings", ["kind", "subject", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("power_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_power_readings")
    op.drop_table("power_readings")
