"""The twin's first schema: zones, events, acks, rsus, audit.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("zone_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("polygon", sa.JSON, nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated_at_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rsu_id", sa.String(64), nullable=False, index=True),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False, index=True),
        sa.Column("occurred_at_ns", sa.BigInteger, nullable=False, index=True),
        sa.Column("received_at_ns", sa.BigInteger, nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("track_id", sa.BigInteger, nullable=False),
        sa.Column("x_m", sa.Float, nullable=False),
        sa.Column("y_m", sa.Float, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.UniqueConstraint("rsu_id", "sequence", name="uq_events_rsu_sequence"),
    )
    op.create_table(
        "acks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rsu_id", sa.String(64), nullable=False, index=True),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("acked_at_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("rsu_id", "sequence", name="uq_acks_rsu_sequence"),
    )
    op.create_table(
        "rsus",
        sa.Column("rsu_id", sa.String(64), primary_key=True),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("health", sa.String(20), nullable=False),
        sa.Column("latitude_deg", sa.Float, nullable=False),
        sa.Column("longitude_deg", sa.Float, nullable=False),
        sa.Column("last_seen_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at_ns", sa.BigInteger, nullable=False, index=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit", "rsus", "acks", "events", "zones"):
        op.drop_table(table)
