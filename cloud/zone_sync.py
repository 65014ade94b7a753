"""Keeps this worker's ``ZoneManager`` in line with the zones in the database, the source of
truth when several twin workers share it.

Every ``interval_s`` it asks the store for the zones' revision (one cheap query) and reloads the
zones when it moved; it reloads at once when woken (``wake()``: an RSU holds a zone version this
worker has not seen, so no command about that zone is sent until the database has been re-read).
After a reload that changed something it reconciles every online RSU with the zones and asks for
the commands to go out (``kick``); changed zones are announced on the live feed.

The store is called in a thread; the loop runs under a ``Supervisor`` (``start()``/``stop()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from cloud.feed import Feed
from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from vicoop.supervise import Supervisor

log = logging.getLogger(__name__)


class ZoneSync:
    """``refresh()`` brings ``zones`` forward to ``store``; ``start()`` runs it every
    ``interval_s`` seconds and whenever ``wake()`` is called. ``reloads`` counts the reloads
    that found something new."""

    def __init__(
        self,
        zones: ZoneManager,
        twin: Twin,
        store: Store,
        feed: Feed,
        *,
        interval_s: float,
        kick: Callable[[], None],
        clock: Callable[[], int] = time.time_ns,
        owner: str = "twin",
        on_failure: Callable[[str, BaseException | None], None] | None = None,
    ) -> None:
        self.zones = zones
        self.twin = twin
        self.store = store
        self.feed = feed
        self.interval_s = interval_s
        self.kick = kick
        self.clock = clock
        self.reloads = 0
        self.supervisor = Supervisor(f"zone-sync-{owner}", on_failure=on_failure)
        self._revision: int | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Load the zones, then keep them in line in the background."""
        await self.refresh()
        self.supervisor.spawn("zone-sync", self._run)

    async def stop(self) -> None:
        await self.supervisor.stop()

    def wake(self) -> None:
        """Re-read the database now (an RSU holds a zone version not seen here)."""
        self._wake.set()

    async def refresh(self) -> list[str]:
        """Reload the zones if the database's revision moved (or ``unseen`` asks for it);
        returns the ids of the zones that changed here."""
        async with self._lock:
            asked = dict(self.zones.unseen)
            revision = await asyncio.to_thread(self.store.zones_revision)
            if revision == self._revision and not asked:
                return []
            zones, deleted = await asyncio.to_thread(self.store.load_zones)
            self._revision = revision
            changed = self.zones.merge(zones, deleted, asked)
        if changed:
            self.reloads += 1
            log.info("zones changed in the database: %s", ", ".join(sorted(changed)))
            for zone_id in changed:
                if zone_id in self.zones.zones:
                    version = self.zones.zones[zone_id].version
                    self.feed.publish("zone", {"zone_id": zone_id, "version": version})
                else:
                    self.feed.publish("zone", {"zone_id": zone_id, "deleted": True})
        if changed or asked:
            self.reconcile_all()
        if self.zones.unseen:  # statuses that came during the read: read again
            self._wake.set()
        return changed

    def reconcile_all(self) -> None:
        """Reconcile every online RSU with the zones, and send what that queued."""
        now = self.clock()
        for view in self.twin.rsus.values():
            if view.online:
                self.zones.reconcile(
                    view.rsu_id, view.origin, view.coverage_radius_m, view.zone_versions, now
                )
        self.kick()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._wake.wait()
            self._wake.clear()
            await self.refresh()
