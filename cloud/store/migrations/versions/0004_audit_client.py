"""The audit log records the client's address beside the token's holder.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit", sa.Column("client", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("audit", "client")
