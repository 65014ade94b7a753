"""Alarms: a supervised task that failed or ended unexpectedly, the twin's own or an RSU's.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at_ns", sa.BigInteger, nullable=False, index=True),
        sa.Column("source", sa.String(96), nullable=False, index=True),
        sa.Column("task", sa.String(128), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alarms")
