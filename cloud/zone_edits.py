"""The operators' zone changes (from the control API): each stored with an audit record, applied
to the ``ZoneManager``, reconciled with every online RSU at once and announced on the live feed.

``ZoneManager`` is the pure state; this is its I/O edge (the store is called in a thread).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from cloud.errors import Conflict, NotFound
from cloud.feed import Feed
from cloud.schemas import Principal, ZoneIn, zone_from
from cloud.store import Store, rules_to_json
from cloud.twin import Twin
from cloud.zones import ZoneManager
from vicoop.zones import Zone


class ZoneEditor:
    """Creates, changes and deletes ``zones`` on behalf of a ``Principal``. ``kick`` asks for
    the commands the change queued to be sent now (``TwinIngest.kick``)."""

    def __init__(
        self,
        zones: ZoneManager,
        twin: Twin,
        store: Store,
        feed: Feed,
        *,
        kick: Callable[[], None],
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.zones = zones
        self.twin = twin
        self.store = store
        self.feed = feed
        self.kick = kick
        self.clock = clock

    async def restore(self) -> None:
        """Load the stored zones (and the versions deleted zones were deleted at)."""
        zones, deleted = await asyncio.to_thread(self.store.load_zones)
        for zone in zones:
            self.zones.put(zone)
        self.zones.deleted.update(deleted)

    async def create(self, zone_id: str, body: ZoneIn, who: Principal) -> Zone:
        """A new zone; ``Conflict`` when ``zone_id`` exists."""
        if zone_id in self.zones.zones:
            raise Conflict(f"zone {zone_id!r} exists; PUT changes it")
        return await self._put(zone_id, body, who)

    async def update(self, zone_id: str, body: ZoneIn, who: Principal) -> Zone:
        """The zone's next version; ``NotFound`` when there is no such zone."""
        if zone_id not in self.zones.zones:
            raise NotFound(f"no zone {zone_id!r}; POST creates one")
        return await self._put(zone_id, body, who)

    async def delete(self, zone_id: str, who: Principal) -> None:
        """Delete the zone (stored as a tombstone at its next version); ``NotFound`` when there
        is no such zone."""
        zone = self.zones.zones.get(zone_id)
        if zone is None:
            raise NotFound(f"no zone {zone_id!r}")
        version = self.zones.delete(zone_id)
        tomb = Zone(zone.zone_id, version, zone.name, zone.polygon, zone.rules, self.clock())
        await asyncio.to_thread(self.store.save_zone, tomb, deleted=True, by=who.name)
        await asyncio.to_thread(
            self.store.audit,
            self.clock(),
            who.name,
            who.role,
            "zone.delete",
            zone_id,
            {"version": version},
        )
        self._reconcile_all()
        self.feed.publish("zone", {"zone_id": zone_id, "deleted": True})

    async def _put(self, zone_id: str, body: ZoneIn, who: Principal) -> Zone:
        zone = zone_from(zone_id, self.zones.next_version(zone_id), body, self.clock())
        await asyncio.to_thread(self.store.save_zone, zone, deleted=False, by=who.name)
        await asyncio.to_thread(
            self.store.audit,
            self.clock(),
            who.name,
            who.role,
            "zone.put",
            zone_id,
            {"version": zone.version, "rules": rules_to_json(zone.rules)},
        )
        self.zones.put(zone)
        self._reconcile_all()
        self.feed.publish("zone", {"zone_id": zone_id, "version": zone.version})
        return zone

    def _reconcile_all(self) -> None:
        now = self.clock()
        for view in self.twin.rsus.values():
            if view.online:
                self.zones.reconcile(
                    view.rsu_id, view.origin, view.coverage_radius_m, view.zone_versions, now
                )
        self.kick()
