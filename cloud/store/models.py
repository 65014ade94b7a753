"""The twin's tables (SQLAlchemy 2 declarative). The schema is created by Alembic migrations
(``cloud/store/migrations``), never by ``create_all``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# A 64-bit row id: BIGINT on PostgreSQL; INTEGER on SQLite, where only an INTEGER PRIMARY KEY
# is the auto-incremented rowid (and is 64-bit).
RowId = BigInteger().with_variant(Integer, "sqlite")


class ZoneRow(Base):
    __tablename__ = "zones"
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    polygon: Mapped[list[list[float]]] = mapped_column(JSON)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at_ns: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(64))


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("rsu_id", "sequence", name="uq_events_rsu_sequence"),)
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    rsu_id: Mapped[str] = mapped_column(String(64), index=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    occurred_at_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    received_at_ns: Mapped[int] = mapped_column(BigInteger)
    zone_id: Mapped[str] = mapped_column(String(64))
    vehicle_id: Mapped[str] = mapped_column(String(64))
    track_id: Mapped[int] = mapped_column(BigInteger)
    x_m: Mapped[float] = mapped_column(Float)
    y_m: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text)


class AckRow(Base):
    __tablename__ = "acks"
    __table_args__ = (UniqueConstraint("rsu_id", "sequence", name="uq_acks_rsu_sequence"),)
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    rsu_id: Mapped[str] = mapped_column(String(64), index=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    command_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    acked_at_ns: Mapped[int] = mapped_column(BigInteger)


class RsuRow(Base):
    __tablename__ = "rsus"
    rsu_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean)
    health: Mapped[str] = mapped_column(String(20))
    latitude_deg: Mapped[float] = mapped_column(Float)
    longitude_deg: Mapped[float] = mapped_column(Float)
    last_seen_ns: Mapped[int] = mapped_column(BigInteger)


class AlarmRow(Base):
    __tablename__ = "alarms"
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    at_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(96), index=True)
    task: Mapped[str] = mapped_column(String(128))
    error: Mapped[str] = mapped_column(Text)


class AuditRow(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    at_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    client: Mapped[str] = mapped_column(String(64), default="")
