"""The twin's system of record (SQLAlchemy 2): SQLite by default, PostgreSQL with ``--db-url``.

Synchronous; the service calls it from a worker thread. ``Store.migrate()`` brings the schema to
the latest Alembic revision. Outbox messages (events, acknowledgements) are stored under a unique
(rsu_id, sequence) key, so a message delivered twice is stored once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloud.store.locks import FileLock, LeaderLock, PgAdvisoryLock, ProcessLock
from cloud.store.models import AckRow, AlarmRow, AuditRow, EventRow, RsuRow, ZoneRow
from vicoop.cloudmodel import CommandAck, Event, EventKind, OutboxMessage
from vicoop.model import ObjectClass
from vicoop.zones import TimeWindow, Zone, ZoneRules

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

__all__ = ["LeaderLock", "Store", "StoredAlarm", "rules_from_json", "rules_to_json"]


def rules_to_json(rules: ZoneRules) -> dict[str, Any]:
    return {
        "speed_limit_mps": rules.speed_limit_mps,
        "allowed_classes": sorted(c.name.lower() for c in rules.allowed_classes),
        "allowed_permit_ids": sorted(rules.allowed_permit_ids),
        "closed": rules.closed,
        "closed_lanes": list(rules.closed_lanes),
        "time_windows": [
            {
                "start_minute": w.start_minute,
                "end_minute": w.end_minute,
                "weekdays": sorted(w.weekdays),
            }
            for w in rules.time_windows
        ],
        "min_headway_s": rules.min_headway_s,
    }


def rules_from_json(data: dict[str, Any]) -> ZoneRules:
    return ZoneRules(
        speed_limit_mps=float(data.get("speed_limit_mps", 0.0)),
        allowed_classes=frozenset(ObjectClass[c.upper()] for c in data.get("allowed_classes", [])),
        allowed_permit_ids=frozenset(data.get("allowed_permit_ids", [])),
        closed=bool(data.get("closed", False)),
        closed_lanes=tuple(data.get("closed_lanes", [])),
        time_windows=tuple(
            TimeWindow(w["start_minute"], w["end_minute"], frozenset(w.get("weekdays", [])))
            for w in data.get("time_windows", [])
        ),
        min_headway_s=float(data.get("min_headway_s", 0.0)),
    )


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """Who changed what, from where: ``actor`` (the token's holder), its ``role``, the
    ``client`` address, the ``action`` on ``target`` and its whole ``detail`` (the body)."""

    at_ns: int
    actor: str
    role: str
    client: str
    action: str
    target: str
    detail: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class StoredEvent:
    id: int
    rsu_id: str
    sequence: int
    kind: str
    occurred_at_ns: int
    received_at_ns: int
    zone_id: str
    vehicle_id: str
    track_id: int
    x_m: float
    y_m: float
    value: float
    detail: str


@dataclasses.dataclass(frozen=True)
class StoredAlarm:
    """A supervised task that failed (``error``: its exception) or ended (``error`` empty);
    ``source``: ``twin <worker id>`` or the RSU's id."""

    id: int
    at_ns: int
    source: str
    task: str
    error: str


class Store:
    """A database at ``url`` (SQLAlchemy URL); ``schema`` puts every table in that PostgreSQL
    schema (tests use a fresh one per run)."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        connect_args: dict[str, Any] = {}
        if url.startswith("sqlite"):
            connect_args["check_same_thread"] = False
        elif schema:
            connect_args["options"] = f"-csearch_path={schema}"
        self._connect_args = connect_args
        self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.dialect = self.engine.dialect.name
        # Connections checked out now (a call still running in a worker thread when the service
        # stops): ``close`` waits for them, else they go back to a disposed pool and stay open.
        self._in_use = 0
        self._closed = False
        self._idle = threading.Condition()
        event.listen(self.engine, "checkout", self._checked_out)
        event.listen(self.engine, "checkin", self._checked_in)

    def _checked_out(self, *_: object) -> None:
        with self._idle:
            self._in_use += 1

    def _checked_in(self, dbapi_connection: Any, *_: object) -> None:
        with self._idle:
            self._in_use -= 1
            self._idle.notify_all()
            closed = self._closed
        if closed and dbapi_connection is not None:
            # Back after close() (a call that outlived the wait, or one made after it): the
            # pool it returns to is disposed and would keep it open until collected.
            with contextlib.suppress(Exception):
                dbapi_connection.close()

    def migrate(self) -> None:
        """Bring the schema to the latest revision (Alembic). On PostgreSQL, workers starting
        at once take turns: a transaction-scoped advisory lock (one per schema) is held from
        before the schema is created until the migration commits; on a SQLite file, a lock file
        beside it does the same."""
        with _sqlite_migration_lock(self.engine), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"vicoop.cloud.store.migrate:{self.schema or ''}"},
                )
            if self.schema and self.dialect == "postgresql":
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            cfg = AlembicConfig()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            alembic_command.upgrade(cfg, "head")

    def drop_schema(self) -> None:
        """Drop the PostgreSQL schema (tests' clean-up)."""
        if self.schema and self.dialect == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    def close(self, wait_s: float = 10.0) -> None:
        """Close every connection, once the calls still running (at most ``wait_s``) are done."""
        with self._idle:
            self._closed = True
            if not self._idle.wait_for(lambda: self._in_use <= 0, timeout=wait_s):
                log.warning("closing the store with %d connections still in use", self._in_use)
        self.engine.dispose()

    def set_next_event_id(self, next_id: int) -> None:
        """Start PostgreSQL's event ids at ``next_id`` (tests of 64-bit ids; a restore that must
        not reuse ids). SQLite's row ids are 64-bit and follow the largest stored."""
        if self.dialect == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence('events', 'id'), :n, false)"),
                    {"n": next_id},
                )

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    # outbox messages ---------------------------------------------------------------------------

    def _insert_ignore(self, row_type: type[Any], values: dict[str, Any]) -> bool:
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = insert(row_type).values(**values).on_conflict_do_nothing()
        with self.engine.begin() as conn:
            # RETURNING, not rowcount (as in ``save_zone``): a skipped row returns nothing.
            return conn.execute(stmt.returning(row_type.id)).first() is not None

    def add_event(self, rsu_id: str, sequence: int, event: Event, received_at_ns: int) -> bool:
        """Store an event once; False when (rsu_id, sequence) was already stored."""
        return self._insert_ignore(EventRow, _event_row(rsu_id, sequence, event, received_at_ns))

    def add_ack(self, rsu_id: str, sequence: int, ack: CommandAck) -> bool:
        return self._insert_ignore(AckRow, _ack_row(rsu_id, sequence, ack))

    def add_outbox(self, messages: Sequence[tuple[OutboxMessage, int]]) -> None:
        """Store outbox messages (each with its receive time, ns) in one transaction, each once:
        those already stored are left as they are."""
        events = [
            _event_row(m.rsu_id, m.sequence, m.body, at)
            for m, at in messages
            if isinstance(m.body, Event)
        ]
        acks = [
            _ack_row(m.rsu_id, m.sequence, m.body)
            for m, _ in messages
            if isinstance(m.body, CommandAck)
        ]
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        with self.engine.begin() as conn:
            for row_type, rows in ((EventRow, events), (AckRow, acks)):
                if rows:
                    conn.execute(insert(row_type).on_conflict_do_nothing(), rows)

    def outbox_keys(self, per_rsu: int | None = None) -> list[tuple[str, int]]:
        """The (rsu_id, sequence) stored, the newest ``per_rsu`` of each RSU (every one when
        None): the twin never applies them again."""
        keys = union_all(
            select(EventRow.rsu_id, EventRow.sequence), select(AckRow.rsu_id, AckRow.sequence)
        ).subquery()
        rank = (
            func.row_number()
            .over(partition_by=keys.c.rsu_id, order_by=keys.c.sequence.desc())
            .label("rank")
        )
        ranked = select(keys.c.rsu_id, keys.c.sequence, rank).subquery()
        q = select(ranked.c.rsu_id, ranked.c.sequence)
        if per_rsu is not None:
            q = q.where(ranked.c.rank <= per_rsu)
        with Session(self.engine) as s:
            return [(r, int(n)) for r, n in s.execute(q).all()]

    def events(
        self,
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        kind: EventKind | None = None,
        rsu_id: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[StoredEvent]:
        """Events in id order (the order they were stored), filtered, after ``after_id``."""
        q = select(EventRow).where(EventRow.id > after_id)
        if since_ns is not None:
            q = q.where(EventRow.occurred_at_ns >= since_ns)
        if until_ns is not None:
            q = q.where(EventRow.occurred_at_ns < until_ns)
        if kind is not None:
            q = q.where(EventRow.kind == kind.name.lower())
        if rsu_id is not None:
            q = q.where(EventRow.rsu_id == rsu_id)
        with Session(self.engine) as s:
            rows = s.scalars(q.order_by(EventRow.id).limit(limit)).all()
            return [
                StoredEvent(**{f.name: getattr(r, f.name) for f in dataclasses.fields(StoredEvent)})
                for r in rows
            ]

    def event_count(self) -> int:
        with Session(self.engine) as s:
            return int(s.scalar(select(func.count()).select_from(EventRow)) or 0)

    def acks(self, rsu_id: str | None = None) -> list[tuple[str, int, str, int, str]]:
        q = select(AckRow.rsu_id, AckRow.sequence, AckRow.command_id, AckRow.version, AckRow.status)
        if rsu_id:
            q = q.where(AckRow.rsu_id == rsu_id)
        with Session(self.engine) as s:
            return [tuple(r) for r in s.execute(q.order_by(AckRow.id)).all()]  # type: ignore[misc]

    # zones -------------------------------------------------------------------------------------

    def save_zone(
        self, zone: Zone, *, deleted: bool, by: str, based_on: int, audit: AuditEntry
    ) -> bool:
        """Store ``zone`` (a tombstone when ``deleted``) if the stored row is still at version
        ``based_on`` (0: no row yet): a compare-and-set, so of two workers that change one zone
        at once only one wins. False when the row had moved on (nothing written). ``audit`` is
        written in the same transaction: a change is never without its record, nor a record
        without its change."""
        values = {
            "version": zone.version,
            "name": zone.name,
            "polygon": [[lon, lat] for lon, lat in zone.polygon],
            "rules": rules_to_json(zone.rules),
            "deleted": deleted,
            "updated_at_ns": zone.updated_at_ns,
            "updated_by": by,
        }
        with self.engine.begin() as conn:
            if based_on == 0:
                upsert = pg_insert if self.dialect == "postgresql" else sqlite_insert
                stmt: Any = (
                    upsert(ZoneRow).values(zone_id=zone.zone_id, **values).on_conflict_do_nothing()
                )
            else:
                stmt = (
                    update(ZoneRow)
                    .where(ZoneRow.zone_id == zone.zone_id, ZoneRow.version == based_on)
                    .values(**values)
                )
            # RETURNING, not rowcount: psycopg counts a skipped ON CONFLICT insert as a row.
            if conn.execute(stmt.returning(ZoneRow.zone_id)).first() is None:
                return False
            conn.execute(insert(AuditRow).values(**dataclasses.asdict(audit)))
            return True

    def zones_revision(self) -> int:
        """A number that grows with every zone change (the sum of the zones' versions: each
        change raises one zone's version), so a worker knows cheaply when to reload."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.coalesce(func.sum(ZoneRow.version), 0))).scalar() or 0
            )

    def load_zones(self) -> tuple[list[Zone], dict[str, int]]:
        """Live zones, and the versions deleted zones were deleted at."""
        zones, deleted = [], {}
        with Session(self.engine) as s:
            for row in s.scalars(select(ZoneRow)):
                if row.deleted:
                    deleted[row.zone_id] = row.version
                else:
                    zones.append(
                        Zone(
                            row.zone_id,
                            row.version,
                            row.name,
                            tuple((p[0], p[1]) for p in row.polygon),
                            rules_from_json(row.rules),
                            row.updated_at_ns,
                        )
                    )
        return zones, deleted

    # rsus and audit ----------------------------------------------------------------------------

    def save_rsu(
        self, rsu_id: str, online: bool, health: str, lat: float, lon: float, last_seen_ns: int
    ) -> None:
        """Insert or update the RSU's row in one statement (every worker receives every status,
        so two may write the same new RSU at once)."""
        values = {
            "online": online,
            "health": health,
            "latitude_deg": lat,
            "longitude_deg": lon,
            "last_seen_ns": last_seen_ns,
        }
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = insert(RsuRow).values(rsu_id=rsu_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[RsuRow.rsu_id], set_=values)
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def forget_rsus(self, last_seen_before_ns: int) -> int:
        """Delete the rows of RSUs last seen before ``last_seen_before_ns`` (the twin forgot
        them); returns how many went."""
        with self.engine.begin() as conn:
            stmt = delete(RsuRow).where(RsuRow.last_seen_ns < last_seen_before_ns)
            return len(conn.execute(stmt.returning(RsuRow.rsu_id)).all())

    def rsu_rows(self) -> list[str]:
        """The ids of the RSUs the store holds a row for."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(RsuRow.rsu_id).order_by(RsuRow.rsu_id)).scalars())

    def leader_lock(self) -> LeaderLock:
        """The lock that makes one worker of this database the leader: a PostgreSQL
        session-level advisory lock (one per schema) on a connection of its own, a lock file
        beside a SQLite file, or (an in-memory SQLite) a lock only this process knows."""
        if self.dialect == "postgresql":
            return PgAdvisoryLock(
                self.url, self._connect_args, f"vicoop.cloud.leader:{self.schema or ''}"
            )
        database = self.engine.url.database
        if database and database != ":memory:":
            return FileLock(Path(f"{database}.leader.lock"))
        return ProcessLock()

    def add_audit(self, entry: AuditEntry) -> None:
        """Store an audit record of a change that is not a zone (a credential issued)."""
        with self.engine.begin() as conn:
            conn.execute(insert(AuditRow).values(**dataclasses.asdict(entry)))

    def audit_log(self, limit: int = 100, after_id: int = 0) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.scalars(
                select(AuditRow).where(AuditRow.id > after_id).order_by(AuditRow.id).limit(limit)
            ).all()
            return [
                {
                    "id": r.id,
                    "at_ns": r.at_ns,
                    "actor": r.actor,
                    "role": r.role,
                    "action": r.action,
                    "target": r.target,
                    "client": r.client,
                    "detail": r.detail,
                }
                for r in rows
            ]

    # alarms ------------------------------------------------------------------------------------

    def add_alarm(self, at_ns: int, source: str, task: str, error: str) -> int:
        """Store an alarm (a supervised task failed or ended); returns its id."""
        with Session(self.engine) as s, s.begin():
            row = AlarmRow(at_ns=at_ns, source=source[:96], task=task[:128], error=error)
            s.add(row)
            s.flush()
            return int(row.id)

    def alarms(
        self, *, source: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[StoredAlarm]:
        """Alarms in the order they were stored, after ``after_id``."""
        q = select(AlarmRow).where(AlarmRow.id > after_id)
        if source is not None:
            q = q.where(AlarmRow.source == source)
        with Session(self.engine) as s:
            return [
                StoredAlarm(r.id, r.at_ns, r.source, r.task, r.error)
                for r in s.scalars(q.order_by(AlarmRow.id).limit(limit))
            ]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _event_row(rsu_id: str, sequence: int, event: Event, received_at_ns: int) -> dict[str, Any]:
    return {
        "rsu_id": rsu_id,
        "sequence": sequence,
        "kind": event.kind.name.lower(),
        "occurred_at_ns": event.occurred_at_ns,
        "received_at_ns": received_at_ns,
        "zone_id": event.zone_id,
        "vehicle_id": event.vehicle_id,
        "track_id": event.track_id,
        "x_m": event.x_m,
        "y_m": event.y_m,
        "value": event.value,
        "detail": event.detail,
    }


def _ack_row(rsu_id: str, sequence: int, ack: CommandAck) -> dict[str, Any]:
    return {
        "rsu_id": rsu_id,
        "sequence": sequence,
        "command_id": ack.command_id,
        "version": ack.version,
        "status": ack.status.name.lower(),
        "acked_at_ns": ack.acked_at_ns,
    }


@contextlib.contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on ``DB.migrate.lock`` beside a SQLite file (nothing for others)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
