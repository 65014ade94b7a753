"""The RSU's on-disk store for what it must not lose: the outbox (events and command
acknowledgements waiting for the cloud's receipt) and the zones it holds.

SQLite, one file, synchronous writes (``synchronous=FULL``): a message appended here survives a
broker outage, a crash and a restart of the RSU. Sequence numbers come from an AUTOINCREMENT key,
so they are never reused, even after the rows they named are gone. Pure synchronous code: the
calls are short local writes made from the link's event loop.

A full disk: ``append`` refuses the new message with ``StorageFull`` (an append is one
transaction: it is stored whole or not at all, so nothing stored is lost), and the outbox can
still shrink: a reserve file of ``RESERVE_BYTES`` beside the database is given up when a
``confirm`` (whose DELETE needs room in the write-ahead log) finds the disk full, and made again
once there is room. A zone that cannot be stored, or a receipt that cannot be applied once the
reserve is gone, is ``StorageFull`` too (the twin sends both again), never another error.

A cap (``max_messages``, ``cloud.max_outbox_messages``): the outbox is meant never to lose an
accepted message, so the cap is high (100 000 by default) and only an outage or a disk that
outlasts it reaches it. Then a new message displaces the least important one stored (``PRIORITY``,
oldest first among equals), or is itself dropped when everything stored matters more. Every
displaced message is counted by kind, in memory (``dropped``) and on disk (until reported): the
link turns the counts into one ``OUTBOX_OVERFLOW`` event for the twin (``report_drops``), so
the loss is never silent.
"""

from __future__ import annotations

import enum
import logging
import os
import sqlite3
from collections import Counter
from pathlib import Path

from roadside.errors import StorageFull
from vicoop import codec_cloud
from vicoop.cloudmodel import CommandAck, Event, EventKind, OutboxMessage
from vicoop.errors import StartupError
from vicoop.zones import Zone

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at_ns INTEGER NOT NULL,
    payload BLOB NOT NULL,
    sent_at_ns INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 1,
    kind TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,  -- sends on this connection
    next_send_ns INTEGER NOT NULL DEFAULT 0  -- when it is due again without a receipt
);
CREATE TABLE IF NOT EXISTS outbox_dropped (  -- displaced by the cap, not yet reported
    kind TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS zones (
    zone_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    payload BLOB  -- NULL once deleted (the version stays, so an older upsert cannot revive it)
);
"""
# Columns added since the first schema, for outbox files written by an older RSU.
log = logging.getLogger(__name__)

_ADDED_COLUMNS = {
    "priority": "INTEGER NOT NULL DEFAULT 1",
    "kind": "TEXT NOT NULL DEFAULT ''",
    "attempts": "INTEGER NOT NULL DEFAULT 0",
    "next_send_ns": "INTEGER NOT NULL DEFAULT 0",
}

RESERVE_BYTES = 1 << 18


class Priority(enum.IntEnum):
    """How much an outbox message matters when a full outbox must drop one (higher: kept)."""

    # A vehicle's own rejected report: a rate-limited notice, the vehicle knows it already.
    LOW = 0
    # Anything without a rule of its own (OTHER).
    NORMAL = 1
    # Safety and control: zone violations (speed, closed, class, permit), sensor health
    # changes, the RSU's task failures, command acknowledgements (the twin's view of which zones an RSU enforces).
    SAFETY = 2
    # The record of a loss (OUTBOX_OVERFLOW): never displaced.
    KEEP = 3


PRIORITY: dict[EventKind, Priority] = {
    EventKind.VEHICLE_REPORT_REJECTED: Priority.LOW,
    EventKind.OTHER: Priority.NORMAL,
    EventKind.UNSPECIFIED: Priority.NORMAL,
    EventKind.ZONE_SPEEDING: Priority.SAFETY,
    EventKind.ZONE_CLOSED_ENTRY: Priority.SAFETY,
    EventKind.ZONE_CLASS_NOT_ALLOWED: Priority.SAFETY,
    EventKind.ZONE_PERMIT_NOT_ACCEPTED: Priority.SAFETY,
    EventKind.SENSOR_HEALTH: Priority.SAFETY,
    EventKind.TASK_FAILED: Priority.SAFETY,
    EventKind.SIGNAL_COMMAND_REFUSED: Priority.SAFETY,
    EventKind.OUTBOX_OVERFLOW: Priority.KEEP,
}
COMMAND_ACK = "command_ack"  # the kind name of acknowledgements in ``dropped``


def kind_and_priority(body: Event | CommandAck) -> tuple[str, Priority]:
    """The kind name counted when ``body`` is dropped, and its ``Priority``."""
    if isinstance(body, CommandAck):
        return COMMAND_ACK, Priority.SAFETY
    return body.kind.name.lower(), PRIORITY.get(body.kind, Priority.NORMAL)


def _full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


class Outbox:
    """The outbox and zone store of one RSU, in the SQLite file ``path`` (``:memory:`` for none),
    holding at most ``max_messages`` outbox messages (None: no cap)."""

    def __init__(self, path: str | Path, rsu_id: str, max_messages: int | None = None) -> None:
        self.path = str(path)
        self.rsu_id = rsu_id
        self.max_messages = max_messages
        # Messages displaced by the cap since this outbox was opened, by kind name.
        self.dropped: Counter[str] = Counter()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            have = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
            for column, spec in _ADDED_COLUMNS.items():
                if column not in have:
                    self._db.execute(f"ALTER TABLE outbox ADD COLUMN {column} {spec}")
            self._db.execute(
                "CREATE INDEX IF NOT EXISTS outbox_by_priority ON outbox (priority, sequence)"
            )
            self._count = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StartupError(f"cannot open the outbox {self.path}: {reason}") from None
        self._reserve = None if self.path == ":memory:" else Path(f"{self.path}.reserve")
        # sequence -> (next send time ns, sends), while the disk is full (cannot note them)
        self._sent_unsaved: dict[int, tuple[int, int]] = {}
        self._make_reserve()

    def _make_reserve(self) -> None:
        """Set the reserve aside, when there is room for it (best effort)."""
        if self._reserve is None or self._reserve.exists():
            return
        try:
            with self._reserve.open("wb") as f:
                f.write(b"\0" * RESERVE_BYTES)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            self._reserve.unlink(missing_ok=True)

    def close(self) -> None:
        self._db.close()

    # outbox ------------------------------------------------------------------------------------

    def append(self, body: Event | CommandAck, now_ns: int) -> OutboxMessage | None:
        """Store ``body`` durably under the next sequence number; returns the stored message,
        or None when the outbox is full of messages that matter more (``body`` is dropped and
        counted). ``StorageFull`` when the disk has no room for it (nothing is stored then)."""
        kind, priority = kind_and_priority(body)
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                if self._full_now():
                    victim = self._victim(priority)
                    if victim is None and priority < Priority.KEEP:
                        self._note_dropped({kind: 1})
                        return None
                    if victim is not None:
                        self._note_dropped({victim: 1})
                message = self._insert(body, kind, priority, now_ns)
        except sqlite3.OperationalError as exc:
            self._recount()
            if _full(exc):
                raise StorageFull(f"the RSU's storage is full ({self.path}): {exc}") from None
            raise
        self._count += 1
        return message

    def report_drops(self, now_ns: int) -> OutboxMessage | None:
        """Turn the drops not yet reported into one ``OUTBOX_OVERFLOW`` event in the outbox
        (``detail``: ``kind=count`` pairs, ``value``: the total); None when there were none.
        When the outbox is full, the message it displaces is counted in this same event."""
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                counts = Counter(
                    {str(k): int(n) for k, n in self._db.execute("SELECT * FROM outbox_dropped")}
                )
                if not counts:
                    return None
                self._db.execute("DELETE FROM outbox_dropped")
                if self._full_now():
                    victim = self._victim(Priority.SAFETY)
                    if victim is not None:
                        counts[victim] += 1
                        self.dropped[victim] += 1
                event = Event(
                    EventKind.OUTBOX_OVERFLOW,
                    now_ns,
                    value=float(counts.total()),
                    detail=" ".join(f"{k}={n}" for k, n in sorted(counts.items())),
                )
                message = self._insert(event, *kind_and_priority(event), now_ns)
        except sqlite3.OperationalError as exc:
            self._recount()
            if _full(exc):
                return None  # reported once there is room again
            raise
        self._recount()
        return message

    def _full_now(self) -> bool:
        return self.max_messages is not None and self._count >= self.max_messages

    def _victim(self, at_most: Priority) -> str | None:
        """Delete the least important, oldest message of priority ``at_most`` or lower (never a
        KEEP one); returns its kind name, None when there is none."""
        row = self._db.execute(
            "SELECT sequence, kind FROM outbox WHERE priority <= ? AND priority < ? "
            "ORDER BY priority, sequence LIMIT 1",
            (int(at_most), int(Priority.KEEP)),
        ).fetchone()
        if row is None:
            return None
        self._db.execute("DELETE FROM outbox WHERE sequence = ?", (row[0],))
        self._sent_unsaved.pop(int(row[0]), None)
        self._count -= 1
        return str(row[1]) or "unknown"

    def _note_dropped(self, counts: dict[str, int]) -> None:
        for kind, n in counts.items():
            self._db.execute(
                "INSERT INTO outbox_dropped (kind, count) VALUES (?, ?) "
                "ON CONFLICT (kind) DO UPDATE SET count = count + excluded.count",
                (kind, n),
            )
            self.dropped[kind] += n
            total = self.dropped.total()
            if total == 1 or total % 1000 == 0:
                log.error(
                    "the outbox of %s is full (%d messages): dropped a %s (%d dropped so far)",
                    self.rsu_id,
                    self.max_messages,
                    kind,
                    total,
                )

    def _insert(
        self, body: Event | CommandAck, kind: str, priority: Priority, now_ns: int
    ) -> OutboxMessage:
        cursor = self._db.execute(
            "INSERT INTO outbox (created_at_ns, payload, priority, kind) VALUES (?, x'', ?, ?)",
            (now_ns, int(priority), kind),
        )
        sequence = int(cursor.lastrowid or 0)
        message = OutboxMessage(self.rsu_id, sequence, now_ns, body)
        self._db.execute(
            "UPDATE outbox SET payload = ? WHERE sequence = ?",
            (codec_cloud.encode_outbox(message), sequence),
        )
        return message

    def _recount(self) -> None:
        self._count = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def due(self, now_ns: int, limit: int = 500) -> list[tuple[int, bytes, int]]:
        """(sequence, payload, sends so far) of the messages due at ``now_ns``: never sent on
        this connection, or whose resend time (``mark_sent``) has come without a receipt."""
        rows = self._db.execute(
            "SELECT sequence, payload, attempts FROM outbox WHERE next_send_ns <= ? "
            "ORDER BY sequence LIMIT ?",
            (now_ns, limit + len(self._sent_unsaved)),
        ).fetchall()
        due = []
        for s, p, a in rows:
            next_ns, unsaved_sends = self._sent_unsaved.get(int(s), (0, 0))
            if next_ns <= now_ns:
                due.append((int(s), bytes(p), int(a) + unsaved_sends))
        return due[:limit]

    def mark_sent(self, sent: list[tuple[int, int]], now_ns: int) -> None:
        """Note that these (sequence, next send time ns) were sent at ``now_ns``: each is due
        again at its next send time, its send count one higher. Held in memory while the disk
        is full (they only matter on this connection: ``mark_all_unsent`` clears them)."""
        try:
            self._db.executemany(
                "UPDATE outbox SET sent_at_ns = ?, next_send_ns = ?, attempts = attempts + 1 "
                "WHERE sequence = ?",
                [(now_ns, next_ns, s) for s, next_ns in sent],
            )
        except sqlite3.OperationalError as exc:
            if not _full(exc):
                raise
            for s, next_ns in sent:
                self._sent_unsaved[s] = (next_ns, self._sent_unsaved.get(s, (0, 0))[1] + 1)

    def mark_all_unsent(self) -> None:
        """After a reconnection: everything waiting goes out again at once, its backoff
        started over."""
        self._sent_unsaved.clear()
        try:
            self._db.execute("UPDATE outbox SET sent_at_ns = 0, next_send_ns = 0, attempts = 0")
        except sqlite3.OperationalError as exc:
            if not _full(exc):
                raise  # on a full disk they go out again at their resend times instead

    def confirm(self, sequences: list[int]) -> int:
        """The cloud has stored these; forget them. Returns how many were still here. On a full
        disk the reserve is given up to make room for the deletion."""
        try:
            count = self._delete(sequences)
        except sqlite3.OperationalError as exc:
            if not _full(exc):
                raise
            if self._reserve is None or not self._reserve.exists():
                raise StorageFull(
                    f"the RSU's storage is full ({self.path}): a receipt for {len(sequences)} "
                    "messages is not applied (the twin receipts them again)"
                ) from None
            self._reserve.unlink()
            count = self._delete(sequences)
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._count = max(0, self._count - count)
        self._make_reserve()
        return count

    def _delete(self, sequences: list[int]) -> int:
        for s in sequences:
            self._sent_unsaved.pop(s, None)
        with self._db:
            cursor = self._db.executemany(
                "DELETE FROM outbox WHERE sequence = ?", [(s,) for s in sequences]
            )
        return cursor.rowcount

    def pending(self) -> int:
        """Messages stored and not yet confirmed."""
        return self._count

    def oldest_pending_ns(self) -> int | None:
        """When the oldest message still waiting for its receipt was stored (None: none)."""
        row = self._db.execute("SELECT min(created_at_ns) FROM outbox").fetchone()
        return None if row[0] is None else int(row[0])

    # zones -------------------------------------------------------------------------------------

    def save_zone(self, zone_id: str, version: int, zone: Zone | None) -> None:
        """Store ``zone`` at ``version``, or a deletion at ``version`` when ``zone`` is None."""
        payload = None if zone is None else codec_cloud.zone_to_proto(zone).SerializeToString()
        try:
            self._db.execute(
                "INSERT INTO zones (zone_id, version, payload) VALUES (?, ?, ?) "
                "ON CONFLICT (zone_id) DO UPDATE SET version = excluded.version, "
                "payload = excluded.payload",
                (zone_id, version, payload),
            )
        except sqlite3.OperationalError as exc:
            if not _full(exc):
                raise
            raise StorageFull(
                f"the RSU's storage is full ({self.path}): zone {zone_id!r} version {version} "
                "is not stored (the twin sends it again)"
            ) from None

    def load_zones(self) -> tuple[dict[str, Zone], dict[str, int]]:
        """The zones held and the version of every zone ever seen (deleted ones included)."""
        from protos.vicoop.v1 import zones_pb2

        zones: dict[str, Zone] = {}
        versions: dict[str, int] = {}
        for zone_id, version, payload in self._db.execute(
            "SELECT zone_id, version, payload FROM zones"
        ):
            versions[zone_id] = int(version)
            if payload is not None:
                zones[zone_id] = codec_cloud.zone_from_proto(zones_pb2.Zone.FromString(payload))
        return zones, versions
