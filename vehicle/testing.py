"""A fake RSU for your own tests: a real gRPC server on a free port, serving the frames you give it.

::

    async with FakeRoadside() as rsu:
        async with RoadsideClient(rsu.target) as client:
            stream = client.perception(classes={ObjectClass.CAR})
            rsu.publish([car])            # DetectedObject values, in the fake's ENU frame
            frame = await anext(aiter(stream))

It runs the same server as a real RSU (subscription validation, filtering, rate limits,
latest-wins queues, zone streaming, vehicle report checks), with no sensors: frames go out when
you call ``publish``, and each published track a vehicle's report matched carries its
``vehicle_id`` as on a real RSU. ``set_zones(zones)`` changes the zones it streams; ``reports``
holds the reports it accepted (and ``reports.stats`` counts the rejected ones). Give it
``intersections`` (ids) and ``publish_spat(spats)`` streams their signal phase and timing
(``vicoop.spat.Spat``) to ``spat()`` subscribers. ``restart()``
stops and starts it on the same port, to test reconnection. ``every(rate_hz)`` publishes the
last objects periodically in the background, as an RSU does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

from vicoop.cloudmodel import VehicleReport
from vicoop.model import DetectedObject, GeodeticOrigin, PerceptionFrame, SensorStatus, SiteInfo
from vicoop.serving import PerceptionHub, RoadsideServer, ZoneFeed
from vicoop.serving.reports import ReportBook, ReportLimits
from vicoop.serving.spatfeed import SpatFeed
from vicoop.spat import Spat
from vicoop.zones import Zone, ZoneSet

DEFAULT_ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)


class FakeRoadside:
    """An RSU whose frames come from the test. ``target`` is valid once started."""

    def __init__(
        self,
        rsu_id: str = "fake-rsu",
        origin: GeodeticOrigin = DEFAULT_ORIGIN,
        *,
        publish_rate_hz: float = 20.0,
        queue_frames: int = 4,
        max_subscribers: int = 2000,
        clock: Callable[[], int] = time.time_ns,
        report_limits: ReportLimits | None = None,
        intersections: Iterable[str] = (),
    ) -> None:
        self.site = SiteInfo(rsu_id, origin, publish_rate_hz)
        self.clock = clock
        self.zones = ZoneFeed()
        self.spat = SpatFeed(rsu_id, intersections)
        self.reports = ReportBook(origin, report_limits)
        # Every report the fake accepted, in order.
        self.accepted_reports: list[VehicleReport] = []
        self.hub = PerceptionHub(
            publish_rate_hz, queue_frames=queue_frames, max_subscribers=max_subscribers
        )
        self.sequence = 0
        self._objects: tuple[DetectedObject, ...] = ()
        self._port = 0
        self._server: RoadsideServer | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def target(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake RSU is not running")
        return self._server.target

    @property
    def server(self) -> RoadsideServer:
        if self._server is None:
            raise RuntimeError("the fake RSU is not running")
        return self._server

    async def start(self) -> None:
        self._server = RoadsideServer(
            self.hub,
            self.site,
            port=self._port,
            zones=self.zones,
            spat=self.spat,
            reports=self.reports,
            on_report=self.accepted_reports.append,
            clock=self.clock,
        )
        self._port = await self._server.start()

    async def stop(self, grace_period_s: float = 0.5) -> None:
        await self._stop_ticker()
        if self._server is not None:
            await self._server.stop(grace_period_s)
            self._server = None

    async def restart(self, down_for_s: float = 0.0) -> None:
        """Stop, stay down ``down_for_s``, and start again on the same port."""
        rate = self._ticker_rate
        await self.stop()
        self.hub = PerceptionHub(
            self.site.publish_rate_hz, self.hub.queue_frames, self.hub.max_subscribers
        )
        await asyncio.sleep(down_for_s)
        await self.start()
        if rate:
            self.every(rate)

    async def __aenter__(self) -> FakeRoadside:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def publish(
        self,
        objects: Iterable[DetectedObject] | None = None,
        *,
        valid_at_ns: int | None = None,
        sensors: Iterable[SensorStatus] = (),
    ) -> PerceptionFrame:
        """Publish a frame of ``objects`` (the last ones given when None) to every subscriber;
        tracks matched by a vehicle's recent report carry its ``vehicle_id``."""
        if objects is not None:
            self._objects = tuple(objects)
        self.sequence += 1
        now = self.clock()
        valid_at = now if valid_at_ns is None else valid_at_ns
        frame = PerceptionFrame(
            rsu_id=self.site.rsu_id,
            sequence=self.sequence,
            valid_at_ns=valid_at,
            published_at_ns=now,
            origin=self.site.origin,
            objects=self.reports.associate(self._objects, valid_at),
            sensors=tuple(sensors),
        )
        self.hub.publish(frame)
        return frame

    def publish_spat(self, spats: Iterable[Spat]) -> None:
        """Stream these intersections' SPaT (ids given at construction) to ``spat()``
        subscribers, as the RSU does at 10 Hz and at every change."""
        self.spat.publish(spats)

    def set_zones(self, zones: Iterable[Zone]) -> ZoneSet:
        """Hold exactly ``zones`` from now on; zone subscribers get the new set."""
        zone_set = ZoneSet({z.zone_id: z for z in zones}, self.zones.zone_set.revision + 1)
        self.zones.set(zone_set)
        return zone_set

    _ticker_rate: float = 0.0

    def every(self, rate_hz: float) -> None:
        """Publish the last objects ``rate_hz`` times a second in the background until stopped."""
        self._ticker_rate = rate_hz

        async def tick() -> None:
            while True:
                self.publish()
                await asyncio.sleep(1.0 / rate_hz)

        if self._ticker is None:
            self._ticker = asyncio.create_task(tick(), name="fake-rsu-ticker")

    async def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
