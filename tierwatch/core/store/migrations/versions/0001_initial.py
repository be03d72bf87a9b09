"""initial schema: transitions, outages, exposures, unmonitored, heartbeats, maintenance

Revision ID: 0001
Revises:
Create Date: 2026-11-25 22:09:50.841113
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exposures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("subsystem", sa.String(length=32), nullable=True),
        sa.Column("start_ts", sa.Float(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.create_index("ix_exposures_subject", ["kind", "subject", "start_ts"], unique=False)

    op.create_table(
        "heartbeats",
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("started_ts", sa.Float(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("instance"),
    )
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("start_ts", sa.Float(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=False),
        sa.Column("recurrence", sa.String(length=16), nullable=False),
        sa.Column("until_ts", sa.Float(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("silence_id", sa.String(length=64), nullable=True),
        sa.Column("deleted_ts", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("subsystem", sa.String(length=32), nullable=True),
        sa.Column("start_ts", sa.Float(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("affected", sa.Text(), nullable=False),
        sa.Column("maintenance_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outages", schema=None) as batch_op:
        batch_op.create_index("ix_outages_open", ["end_ts"], unique=False)
        batch_op.create_index("ix_outages_subject", ["kind", "subject", "start_ts"], unique=False)

    op.create_table(
        "status_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("subsystem", sa.String(length=32), nullable=True),
        sa.Column("old", sa.String(length=16), nullable=True),
        sa.Column("new", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_transitions_subject_ts", ["kind", "subject", "ts"], unique=False)
        batch_op.create_index("ix_transitions_ts", ["ts"], unique=False)

    op.create_table(
        "unmonitored",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start_ts", sa.Float(), nullable=False),
        sa.Column("end_ts", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("unmonitored")
    with op.batch_alter_table("status_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_transitions_ts")
        batch_op.drop_index("ix_transitions_subject_ts")

    op.drop_table("status_transitions")
    with op.batch_alter_table("outages", schema=None) as batch_op:
        batch_op.drop_index("ix_outages_subject")
        batch_op.drop_index("ix_outages_open")

    op.drop_table("outages")
    op.drop_table("maintenance_windows")
    op.drop_table("heartbeats")
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.drop_index("ix_exposures_subject")

    op.drop_table("exposures")
