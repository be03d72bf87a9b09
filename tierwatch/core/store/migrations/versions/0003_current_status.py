"""current status and demand readings per device: what a tier-only instance scores

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-26 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "current_status",
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("component", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("writer", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("device", "component"),
    )
    op.create_table(
        "current_readings",
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("samples", sa.Text(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("writer", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("device"),
    )


def downgrade() -> None:
    op.drop_table("current_readings")
    op.drop_table("current_status")
