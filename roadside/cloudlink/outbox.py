"""The RSU's on-disk store for what it must not lose: the outbox (events and command
acknowledgements waiting for the cloud's receipt) and the zones it holds.

SQLite, one file, synchronous writes (``synchronous=FULL``): a message appended here survives a
broker outage, a crash and a restart of the RSU. Sequence numbers come from an AUTOINCREMENT key,
so they are never reused, even after the rows they named are gone. Pure synchronous code: the
calls are short local writes made from the link's event loop.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

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

    def close(self) -> None:
        self._db.close()

    # outbox ------------------------------------------------------------------------------------

    def append(self, body: Event | CommandAck, now_ns: int) -> OutboxMessage:
        """Store ``body`` durably under the next sequence number; returns the stored message."""
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
        return message

    def due(self, now_ns: int, resend_after_ns: int, limit: int = 500) -> list[tuple[int, bytes]]:
        """Messages never sent, or sent more than ``resend_after_ns`` ago without a receipt."""
        rows = self._db.execute(
            "SELECT sequence, payload FROM outbox WHERE sent_at_ns <= ? ORDER BY sequence LIMIT ?",
            (now_ns - resend_after_ns, limit),
        ).fetchall()
        return [(int(s), bytes(p)) for s, p in rows]

    def mark_sent(self, sequences: list[int], now_ns: int) -> None:
        self._db.executemany(
            "UPDATE outbox SET sent_at_ns = ? WHERE sequence = ?", [(now_ns, s) for s in sequences]
        )

    def mark_all_unsent(self) -> None:
        """After a reconnection: everything waiting goes out again at once."""
        self._db.execute("UPDATE outbox SET sent_at_ns = 0")

    def confirm(self, sequences: list[int]) -> int:
        """The cloud has stored these; forget them. Returns how many were still here."""
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
