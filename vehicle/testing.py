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
(``vicoop.spat.Spat``) to ``spat()`` subscribers; ``maps`` (``vicoop.intersection.IntersectionMap``)
are served to ``map()``. ``restart()``
stops and starts it on the same port, to test reconnection. ``every(rate_hz)`` publishes the
last objects periodically in the background, as an RSU does. ``tls``
(``vicoop.serving.tls.ServerTlsConfig``) serves TLS, or mutual TLS with its ``client_ca_file``,
to test a ``RoadsideClient(..., tls=ClientTls(...))``; ``limits`` are the server's stream and
connection limits; ``reflection`` serves gRPC server reflection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

from vicoop.cloudmodel import VehicleReport
from vicoop.intersection import (
    Connection,
    Crosswalk,
    IntersectionMap,
    Lane,
    LaneDirection,
    LaneKind,
    Manoeuvre,
    SignalGroup,
    StopLine,
    validate,
)
from vicoop.model import DetectedObject, GeodeticOrigin, PerceptionFrame, SensorStatus, SiteInfo
from vicoop.serving import PerceptionHub, RoadsideServer, ZoneFeed
from vicoop.serving.peers import DEFAULT_LIMITS, ConnectionLimits
from vicoop.serving.reports import ReportBook, ReportLimits
from vicoop.serving.spatfeed import SpatFeed
from vicoop.serving.tls import ServerTlsConfig
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
        maps: Iterable[IntersectionMap] = (),
        tls: ServerTlsConfig | None = None,
        limits: ConnectionLimits = DEFAULT_LIMITS,
        reflection: bool = False,
    ) -> None:
        self.tls = tls
        self.limits = limits
        self.reflection = reflection
        self.site = SiteInfo(rsu_id, origin, publish_rate_hz)
        self.clock = clock
        self.zones = ZoneFeed()
        self.maps = tuple(maps)
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
            reflection_enabled=self.reflection,
            tls=self.tls,
            limits=self.limits,
            zones=self.zones,
            spat=self.spat,
            maps=self.maps,
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


def crossroads_map(
    intersection_id: str = "junction-1", arm_m: float = 40.0, width_m: float = 3.5
) -> IntersectionMap:
    """A MAP for your tests: a four-arm crossing about the RSU's origin, one ingress and one
    egress lane per arm (right-hand traffic), straight-on connections only; north-south traffic
    is signal group 2, east-west group 4, and the two conflict. A crosswalk (group 6, in conflict
    with group 2) crosses the north arm. Lane ids: ingress 1 (from the north), 3 (east), 5 (south), 7 (west); the
    egress lane beside each is the next id up."""
    half = width_m / 2
    box = 10.0  # the junction's half size: stop lines are this far from the centre
    # (unit vector from the centre towards the arm, approach id)
    arms = {
        "north": ((0.0, 1.0), 1),
        "east": ((1.0, 0.0), 2),
        "south": ((0.0, -1.0), 3),
        "west": ((-1.0, 0.0), 4),
    }
    lanes: list[Lane] = []
    stops: list[StopLine] = []
    for k, (name, ((ux, uy), approach)) in enumerate(arms.items()):
        # Right-hand traffic: the ingress lane is on the arm's left seen from the centre.
        lx, ly = -uy * half, ux * half
        ingress = Lane(
            2 * k + 1,
            f"{name}-in",
            LaneKind.VEHICLE,
            LaneDirection.INGRESS,
            approach,
            ((ux * arm_m + lx, uy * arm_m + ly), (ux * box + lx, uy * box + ly)),
            width_m,
            Manoeuvre.STRAIGHT,
        )
        egress = Lane(
            2 * k + 2,
            f"{name}-out",
            LaneKind.VEHICLE,
            LaneDirection.EGRESS,
            approach,
            ((ux * box - lx, uy * box - ly), (ux * arm_m - lx, uy * arm_m - ly)),
            width_m,
            Manoeuvre.STRAIGHT,
        )
        lanes += [ingress, egress]
        stops.append(StopLine.at_end_of(ingress))
    # Straight on: from the north (1) out to the south (6), east (3) to west (8), and so on.
    through = [(1, 6, 2), (5, 2, 2), (3, 8, 4), (7, 4, 4)]
    connections = tuple(
        Connection(i, a, b, group, Manoeuvre.STRAIGHT) for i, (a, b, group) in enumerate(through)
    )
    walk = Crosswalk(
        20,
        "north crossing",
        ((-width_m - 2.0, box + 2.0), (width_m + 2.0, box + 2.0)),
        3.0,
        6,
        (1, 2),
    )
    return validate(
        IntersectionMap(
            intersection_id,
            1,
            (0.0, 0.0),
            tuple(lanes),
            tuple(stops),
            connections,
            (
                SignalGroup(2, "north-south"),
                SignalGroup(4, "east-west"),
                SignalGroup(6, "north crossing"),
            ),
            ((2, 4), (4, 2), (2, 6), (6, 2)),
            (walk,),
        )
    )
