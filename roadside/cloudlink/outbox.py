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
once there is room.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from roadside.errors import StorageFull
from vicoop import codec_cloud
from vicoop.cloudmodel import CommandAck, Event, OutboxMessage
from vicoop.errors import StartupError
from vicoop.zones import Zone

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at_ns INTEGER NOT NULL,
    payload BLOB NOT NULL,
    sent_at_ns INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS zones (
    zone_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    payload BLOB  -- NULL once deleted (the version stays, so an older upsert cannot revive it)
);
"""


RESERVE_BYTES = 1 << 18


def _full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


class Outbox:
    """The outbox and zone store of one RSU, in the SQLite file ``path`` (``:memory:`` for none)."""

    def __init__(self, path: str | Path, rsu_id: str) -> None:
        self.path = str(path)
        self.rsu_id = rsu_id
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StartupError(f"cannot open the outbox {self.path}: {reason}") from None
        self._reserve = None if self.path == ":memory:" else Path(f"{self.path}.reserve")
        self._sent_unsaved: dict[int, int] = {}  # sequence -> sent at, ns (full disk only)
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

    def append(self, body: Event | CommandAck, now_ns: int) -> OutboxMessage:
        """Store ``body`` durably under the next sequence number; returns the stored message.
        ``StorageFull`` when the disk has no room for it (nothing is stored then)."""
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                cursor = self._db.execute(
                    "INSERT INTO outbox (created_at_ns, payload) VALUES (?, x'')", (now_ns,)
                )
                sequence = int(cursor.lastrowid or 0)
                message = OutboxMessage(self.rsu_id, sequence, now_ns, body)
                self._db.execute(
                    "UPDATE outbox SET payload = ? WHERE sequence = ?",
                    (codec_cloud.encode_outbox(message), sequence),
                )
        except sqlite3.OperationalError as exc:
            if _full(exc):
                raise StorageFull(f"the RSU's storage is full ({self.path}): {exc}") from None
            raise
        return message

    def due(self, now_ns: int, resend_after_ns: int, limit: int = 500) -> list[tuple[int, bytes]]:
        """Messages never sent, or sent more than ``resend_after_ns`` ago without a receipt."""
        cutoff = now_ns - resend_after_ns
        rows = self._db.execute(
            "SELECT sequence, payload FROM outbox WHERE sent_at_ns <= ? ORDER BY sequence LIMIT ?",
            (cutoff, limit + len(self._sent_unsaved)),
        ).fetchall()
        due = [(int(s), bytes(p)) for s, p in rows if self._sent_unsaved.get(int(s), 0) <= cutoff]
        return due[:limit]

    def mark_sent(self, sequences: list[int], now_ns: int) -> None:
        """Note when these were sent; held in memory while the disk is full (they only matter
        on this connection: ``mark_all_unsent`` clears them)."""
        try:
            self._db.executemany(
                "UPDATE outbox SET sent_at_ns = ? WHERE sequence = ?",
                [(now_ns, s) for s in sequences],
            )
        except sqlite3.OperationalError as exc:
            if not _full(exc):
                raise
            self._sent_unsaved.update((s, now_ns) for s in sequences)

    def mark_all_unsent(self) -> None:
        """After a reconnection: everything waiting goes out again at once."""
        self._sent_unsaved.clear()
        try:
            self._db.execute("UPDATE outbox SET sent_at_ns = 0")
        except sqlite3.OperationalError as exc:
            if not _full(exc):
                raise  # on a full disk they go out again after resend_after_s instead

    def confirm(self, sequences: list[int]) -> int:
        """The cloud has stored these; forget them. Returns how many were still here. On a full
        disk the reserve is given up to make room for the deletion."""
        try:
            count = self._delete(sequences)
        except sqlite3.OperationalError as exc:
            if not _full(exc) or self._reserve is None or not self._reserve.exists():
                raise
            self._reserve.unlink()
            count = self._delete(sequences)
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
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
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def oldest_pending_ns(self) -> int | None:
        """When the oldest message still waiting for its receipt was stored (None: none)."""
        row = self._db.execute("SELECT min(created_at_ns) FROM outbox").fetchone()
        return None if row[0] is None else int(row[0])

    # zones -------------------------------------------------------------------------------------

    def save_zone(self, zone_id: str, version: int, zone: Zone | None) -> None:
        """Store ``zone`` at ``version``, or a deletion at ``version`` when ``zone`` is None."""
        payload = None if zone is None else codec_cloud.zone_to_proto(zone).SerializeToString()
        self._db.execute(
            "INSERT INTO zones (zone_id, version, payload) VALUES (?, ?, ?) "
            "ON CONFLICT (zone_id) DO UPDATE SET version = excluded.version, "
            "payload = excluded.payload",
            (zone_id, version, payload),
        )

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
