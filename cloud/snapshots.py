"""The live feed's snapshots of the twin: one for each new subscriber, then one every
``interval_s`` while anyone subscribes. ``run()`` is the periodic task (the service runs it under
its supervisor)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

from cloud.feed import Feed
from cloud.schemas import (
    SnapshotOut,
    intersections_out,
    objects_out,
    rsu_out,
    spat_out,
    zone_out,
)
from cloud.twin import Twin
from cloud.zones import ZoneManager

log = logging.getLogger(__name__)


class Snapshots:
    """Snapshots of ``twin`` and ``zones`` for ``feed``; ``errors`` counts snapshots that
    failed to build (a bug in a view never ends the live feed)."""

    def __init__(
        self,
        twin: Twin,
        zones: ZoneManager,
        feed: Feed,
        *,
        interval_s: float,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.twin = twin
        self.zones = zones
        self.feed = feed
        self.interval_s = interval_s
        self.clock = clock
        self.errors = 0

    def build(self) -> SnapshotOut:
        return SnapshotOut(
            rsus=[rsu_out(v) for v in self.twin.rsus.values()],
            intersections=intersections_out(self.twin),
            spat=spat_out(self.twin),
            objects=objects_out(self.twin, self.clock()),
            zones=[zone_out(z) for z in self.zones.zones.values()],
        )

    def message(self) -> str:
        """The current snapshot as a server-sent event."""
        data = json.dumps(self.build().model_dump(), separators=(",", ":"))
        return f"event: snapshot\ndata: {data}\n\n"

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if not self.feed.subscribers:
                continue
            try:
                snapshot = self.build()
            except Exception:  # a bug in a view must not end the live feed for good
                self.errors += 1
                log.exception("building the live feed's snapshot failed")
                continue
            self.feed.publish("snapshot", snapshot.model_dump())
