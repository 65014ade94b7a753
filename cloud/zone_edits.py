"""The operators' zone changes (from the control API): each stored with an audit record, applied
to the ``ZoneManager``, reconciled with every online RSU at once and announced on the live feed.

``ZoneManager`` is the pure state; this is its I/O edge (the store is called in a thread). The
database is the source of truth shared by every twin worker: an edit first brings this worker's
zones forward (``ZoneSync.refresh``), then writes with a compare-and-set on the version it was
based on, so of two workers changing one zone at once one wins and the other answers
``Conflict``; only a stored change reaches this worker's zones (and, through their own
``ZoneSync``, the other workers' within ``zone_sync_s``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from cloud.errors import Conflict, NotFound
from cloud.feed import Feed
from cloud.schemas import Principal, ZoneIn, zone_from
from cloud.store import AuditEntry, Store, rules_to_json
from cloud.zone_sync import ZoneSync
from cloud.zones import ZoneManager
from vicoop.zones import Zone


class ZoneEditor:
    """Creates, changes and deletes ``zones`` on behalf of a ``Principal``; ``sync`` keeps them
    in line with the database and sends what a change queued."""

    def __init__(
        self,
        zones: ZoneManager,
        sync: ZoneSync,
        store: Store,
        feed: Feed,
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.zones = zones
        self.sync = sync
        self.store = store
        self.feed = feed
        self.clock = clock

    async def create(self, zone_id: str, body: ZoneIn, who: Principal) -> Zone:
        """A new zone; ``Conflict`` when ``zone_id`` exists."""
        await self.sync.refresh()
        if zone_id in self.zones.zones:
            raise Conflict(f"zone {zone_id!r} exists; PUT changes it")
        return await self._put(zone_id, body, who)

    async def update(self, zone_id: str, body: ZoneIn, who: Principal) -> Zone:
        """The zone's next version; ``NotFound`` when there is no such zone."""
        await self.sync.refresh()
        if zone_id not in self.zones.zones:
            raise NotFound(f"no zone {zone_id!r}; POST creates one")
        return await self._put(zone_id, body, who)

    async def delete(self, zone_id: str, who: Principal) -> None:
        """Delete the zone (stored as a tombstone at its next version); ``NotFound`` when there
        is no such zone."""
        await self.sync.refresh()
        zone = self.zones.zones.get(zone_id)
        if zone is None:
            raise NotFound(f"no zone {zone_id!r}")
        based_on = self.zones.known_version(zone_id)
        version = self.zones.next_version(zone_id)
        tomb = Zone(zone.zone_id, version, zone.name, zone.polygon, zone.rules, self.clock())
        await self._store(tomb, deleted=True, who=who, based_on=based_on, action="zone.delete")
        self.zones.mark_deleted(zone_id, version)
        self.sync.reconcile_all()
        self.feed.publish("zone", {"zone_id": zone_id, "deleted": True})

    async def _put(self, zone_id: str, body: ZoneIn, who: Principal) -> Zone:
        based_on = self.zones.known_version(zone_id)
        zone = zone_from(zone_id, self.zones.next_version(zone_id), body, self.clock())
        await self._store(zone, deleted=False, who=who, based_on=based_on, action="zone.put")
        self.zones.put(zone)
        self.sync.reconcile_all()
        self.feed.publish("zone", {"zone_id": zone_id, "version": zone.version})
        return zone

    async def _store(
        self, zone: Zone, *, deleted: bool, who: Principal, based_on: int, action: str
    ) -> None:
        """Write ``zone`` with its audit record (the whole zone, who, from where) if the
        database still holds version ``based_on``; else re-read the zones and raise
        ``Conflict``."""
        audit = AuditEntry(
            at_ns=self.clock(),
            actor=who.name,
            role=who.role,
            client=who.client[:64],
            action=action,
            target=zone.zone_id,
            detail={
                "version": zone.version,
                "based_on": based_on,
                "name": zone.name,
                "polygon": [[lon, lat] for lon, lat in zone.polygon],
                "rules": rules_to_json(zone.rules),
            },
        )
        stored = await asyncio.to_thread(
            self.store.save_zone,
            zone,
            deleted=deleted,
            by=who.name,
            based_on=based_on,
            audit=audit,
        )
        if not stored:
            await self.sync.refresh()
            raise Conflict(
                f"zone {zone.zone_id!r} was changed meanwhile (by another request or worker); "
                "read it again and retry"
            )
