"""The zones an RSU holds, changed only by versioned commands from the cloud.

Pure and synchronous. Applying a command is idempotent: a version at or below the one the RSU
already has (for that zone) changes nothing and is acknowledged ``ALREADY_APPLIED``; a version
outside ``1..MAX_VERSION`` (``vicoop.codec_cloud``: the decoder refuses it first) is ``REJECTED``,
so the store never holds one the cloud could not supersede. Every change is written to the RSU's
store first, so the zones survive a restart.
"""

from __future__ import annotations

from collections.abc import Callable

from roadside.cloudlink.outbox import Outbox
from vicoop.cloudmodel import AckStatus, Command, CommandAck, UpsertZone
from vicoop.codec_cloud import MAX_VERSION
from vicoop.zones import Zone, ZoneSet


class ZoneBook:
    """Zones by id; ``listeners`` are called with the new ``ZoneSet`` after every change."""

    def __init__(self, store: Outbox | None = None) -> None:
        self._store = store
        self._zones: dict[str, Zone] = {}
        self._versions: dict[str, int] = {}
        if store is not None:
            self._zones, self._versions = store.load_zones()
        self._revision = 1 if self._zones else 0
        self.zone_set = ZoneSet(dict(self._zones), self._revision)
        self.listeners: list[Callable[[ZoneSet], None]] = []

    @property
    def versions(self) -> dict[str, int]:
        return {zone_id: zone.version for zone_id, zone in self._zones.items()}

    def apply(self, command: Command, now_ns: int) -> CommandAck:
        """Apply ``command`` once; the acknowledgement says whether anything changed."""
        body = command.body
        zone_id = body.zone.zone_id if isinstance(body, UpsertZone) else body.zone_id
        version = body.zone.version if isinstance(body, UpsertZone) else body.version
        if version != command.version:
            return CommandAck(
                command.command_id,
                command.version,
                AckStatus.REJECTED,
                f"command.version {command.version} differs from the zone's version {version}",
                now_ns,
            )
        if not 1 <= version <= MAX_VERSION:
            return CommandAck(
                command.command_id,
                command.version,
                AckStatus.REJECTED,
                f"command.version must be in 1..{MAX_VERSION}, got {version}",
                now_ns,
            )
        if version <= self._versions.get(zone_id, 0):
            return CommandAck(command.command_id, version, AckStatus.ALREADY_APPLIED, "", now_ns)
        zone = body.zone if isinstance(body, UpsertZone) else None
        if self._store is not None:
            self._store.save_zone(zone_id, version, zone)
        self._versions[zone_id] = version
        if zone is None:
            self._zones.pop(zone_id, None)
        else:
            self._zones[zone_id] = zone
        self._revision += 1
        self.zone_set = ZoneSet(dict(self._zones), self._revision)
        for listener in list(self.listeners):
            listener(self.zone_set)
        return CommandAck(command.command_id, version, AckStatus.APPLIED, "", now_ns)
