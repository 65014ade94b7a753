"""64-bit row ids and zone versions.

``events.id``, ``acks.id``, ``audit.id`` and ``zones.version`` were 32-bit on PostgreSQL (SQLite's
INTEGER is 64-bit already): a twin that stores 30 events a second for two years, or a zone at
version 2^31, overflowed them.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_IDS = ("events", "acks", "audit")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _IDS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN id TYPE BIGINT")
        op.execute(f"ALTER SEQUENCE {table}_id_seq AS BIGINT")
    op.execute("ALTER TABLE zones ALTER COLUMN version TYPE BIGINT")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE zones ALTER COLUMN version TYPE INTEGER")
    for table in _IDS:
        op.execute(f"ALTER SEQUENCE {table}_id_seq AS INTEGER")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN id TYPE INTEGER")
