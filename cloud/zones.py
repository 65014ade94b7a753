"""Pilot-zone management: the cloud's zones, and the commands that bring each RSU's zones in line.

Pure and synchronous. Each RSU should hold every zone whose polygon touches its coverage circle,
at the zone's latest version, and no other. RSU statuses report the versions they hold;
``reconcile`` turns the difference into versioned commands, ``due`` says which to (re)send,
``acked`` clears them. Commands are idempotent on the RSU, so resending is always safe.

With several twin workers the database holds the zones and each worker's manager is a copy that
may lag behind (``merge`` brings it forward). A copy never deletes what it has not seen: a zone
an RSU holds at a version newer than the copy knows (a zone created or changed through another
worker) gets no command and is listed in ``unseen``, for the caller to re-read the database;
only once a re-read (``merge(..., asked=...)``) has confirmed the database does not have that
version either may ``reconcile`` delete it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import shapely

from vicoop.cloudmodel import Command, CommandAck, DeleteZone, UpsertZone
from vicoop.codec_cloud import MAX_VERSION, next_version
from vicoop.geodesy import geodetic_to_enu
from vicoop.model import NS_PER_S, GeodeticOrigin
from vicoop.zones import Zone

log = logging.getLogger(__name__)


def touches(zone: Zone, origin: GeodeticOrigin, radius_m: float) -> bool:
    """Whether ``zone`` touches the circle of ``radius_m`` around ``origin``."""
    enu = geodetic_to_enu([(lat, lon) for lon, lat in zone.polygon], origin)
    polygon = shapely.Polygon(enu[:, :2])
    return bool(polygon.distance(shapely.Point(0.0, 0.0)) <= radius_m)


@dataclass
class _Pending:
    command: Command
    zone_id: str
    sent_at_ns: int = 0


@dataclass
class ZoneManager:
    """Zones by id (``deleted`` keeps the version a deleted zone was deleted at). ``unseen``:
    zones some RSU holds at a version newer than known here (zone id -> that version), waiting
    for a re-read of the database; ``checked``: versions a re-read did not find (those RSUs may
    be brought in line)."""

    resend_after_s: float = 5.0
    zones: dict[str, Zone] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    _pending: dict[tuple[str, str], _Pending] = field(default_factory=dict)

    def known_version(self, zone_id: str) -> int:
        """The latest version of the zone known here, live or deleted (0: never heard of)."""
        current = self.zones.get(zone_id)
        return max(current.version if current else 0, self.deleted.get(zone_id, 0))

    def mark_deleted(self, zone_id: str, version: int) -> None:
        """The zone was deleted at ``version`` (stored already)."""
        self.zones.pop(zone_id, None)
        self.deleted[zone_id] = version

    def merge(
        self, zones: list[Zone], deleted: dict[str, int], asked: dict[str, int] | None = None
    ) -> list[str]:
        """Bring this copy forward to what the database holds (``zones`` live, ``deleted``
        zone id -> tombstone version), keeping whatever is newer here; ``asked`` are the
        ``unseen`` entries the read was made for (read before it started): those it did not
        explain go to ``checked``. Returns the ids of the zones that changed here."""
        changed = []
        for zone in zones:
            if zone.version > self.known_version(zone.zone_id):
                self.put(zone)
                changed.append(zone.zone_id)
        for zone_id, version in deleted.items():
            if version > self.known_version(zone_id):
                self.mark_deleted(zone_id, version)
                changed.append(zone_id)
        for zone_id, version in (asked or {}).items():
            if version > self.known_version(zone_id):
                self.checked[zone_id] = max(self.checked.get(zone_id, 0), version)
            if self.unseen.get(zone_id, 0) <= version:
                self.unseen.pop(zone_id, None)
        return changed

    def next_version(self, zone_id: str) -> int:
        """The version of the zone's next change; ``ValueError`` past ``MAX_VERSION``."""
        current = self.zones.get(zone_id)
        return next_version(
            max(current.version if current else 0, self.deleted.get(zone_id, 0)), f"zone {zone_id}"
        )

    def put(self, zone: Zone) -> None:
        self.zones[zone.zone_id] = zone
        self.deleted.pop(zone.zone_id, None)

    def delete(self, zone_id: str) -> int:
        """Delete a zone; returns the version it is deleted at."""
        version = self.next_version(zone_id)
        self.mark_deleted(zone_id, version)
        return version

    def reconcile(
        self,
        rsu_id: str,
        origin: GeodeticOrigin,
        coverage_radius_m: float,
        held: dict[str, int],
        now_ns: int,
    ) -> None:
        """Queue the commands that bring ``rsu_id`` (holding ``held`` versions) in line."""
        wanted: dict[str, Zone] = {
            z.zone_id: z for z in self.zones.values() if touches(z, origin, coverage_radius_m)
        }
        for zone_id, version in held.items():
            if version > self.known_version(zone_id) and self.checked.get(zone_id, 0) < version:
                # Newer than this copy: changed through another worker, or not in the database
                # at all. No command until the database is re-read.
                self.unseen[zone_id] = max(self.unseen.get(zone_id, 0), version)
        for zone_id, zone in wanted.items():
            if zone_id in self.unseen:
                continue
            if held.get(zone_id, 0) < zone.version:
                self._queue(rsu_id, zone_id, zone.version, UpsertZone(zone), now_ns)
            else:
                self._drop(rsu_id, zone_id, zone.version)
        for zone_id, version in held.items():
            if zone_id in wanted or zone_id in self.unseen:
                continue
            if not self.deleted.get(zone_id) and version >= MAX_VERSION:
                # The last version there is (statuses are bounded at decode): no delete can
                # supersede it, and computing one would overflow.
                log.warning("%s holds zone %s at the last version, %d", rsu_id, zone_id, version)
                continue
            at = self.deleted.get(zone_id) or max(
                version + 1, self.zones[zone_id].version if zone_id in self.zones else 0
            )
            self._queue(rsu_id, zone_id, at, DeleteZone(zone_id, at), now_ns)
        for key in [
            k for k in self._pending if k[0] == rsu_id and k[1] not in wanted and k[1] not in held
        ]:
            if not isinstance(self._pending[key].command.body, UpsertZone):
                del self._pending[key]  # nothing to delete there any more

    def _queue(
        self, rsu_id: str, zone_id: str, version: int, body: UpsertZone | DeleteZone, now_ns: int
    ) -> None:
        current = self._pending.get((rsu_id, zone_id))
        if (
            current is not None
            and current.command.version == version
            and type(current.command.body) is type(body)
        ):
            return
        command = Command(f"cmd-{uuid.uuid4().hex[:16]}", version, now_ns, body)
        self._pending[(rsu_id, zone_id)] = _Pending(command, zone_id)

    def _drop(self, rsu_id: str, zone_id: str, version: int) -> None:
        current = self._pending.get((rsu_id, zone_id))
        if current is not None and current.command.version <= version:
            del self._pending[(rsu_id, zone_id)]

    def due(self, rsu_ids: set[str], now_ns: int) -> list[tuple[str, Command]]:
        """Commands for ``rsu_ids`` (the online ones) never sent or sent too long ago; marks
        them sent at ``now_ns``."""
        resend_ns = int(self.resend_after_s * NS_PER_S)
        out = []
        for (rsu_id, _), pending in sorted(self._pending.items()):
            if rsu_id in rsu_ids and (
                pending.sent_at_ns == 0 or now_ns - pending.sent_at_ns >= resend_ns
            ):
                pending.sent_at_ns = now_ns
                out.append((rsu_id, pending.command))
        return out

    def acked(self, rsu_id: str, ack: CommandAck) -> None:
        """An RSU acknowledged a command: applied, already applied or rejected, it is done."""
        for key, pending in list(self._pending.items()):
            if key[0] == rsu_id and pending.command.command_id == ack.command_id:
                del self._pending[key]

    def pending(self, rsu_id: str | None = None) -> list[Command]:
        return [p.command for (r, _), p in sorted(self._pending.items()) if rsu_id in (None, r)]
