"""The rig measures SPaT: the RSU's own SPaT path against SUMO's traffic lights.

For each RSU at a signalised junction whose site entry configures no SPaT of its own, the rig
gives the in-process RSU what a real site's configuration would: its junction's MAP
(``map.intersections``, built from the net by ``hil.intersection`` in the RSU's ENU frame) and
its traffic light as a ``sumo`` controller (``spat.controllers``: the libsumo adapter reading
the SUMO the rig runs, signal groups by link index as the MAP's). Each step, after SUMO has
advanced, the rig has the RSU read its controllers once and publish (``spat_at``); a vehicle
client (``SpatProbe``, the vehicle library's ``spat()`` stream and ``map()``) records every
update. Then:

- latency: receive (wall) - the rig's ``spat_at`` call for that step (wall), as the frames'
  lock-step latency;
- judging: ``roadside.spat.SpatChecker`` fed the SPaT the client received (``record``) and
  SUMO's traffic light as ground truth (``observe``: ``hil.spat.SumoSignalController``, read by
  the rig every step), per intersection: changes seen, those outside ``[min_end, max_end]``,
  the ``likely_end`` error by control type;
- lane matching: every ``LANE_EVERY`` steps, each SUMO vehicle whose position (front, ENU) lies
  on an ingress lane of the MAP the client received (within half the lane's width of its centre
  line, between its ends) is matched by ``vehicle.lanes.match_lane`` with SUMO's heading; it is
  right when the matched lane's ``name`` is SUMO's lane id.

In real time the RSU runs as a process of its own (or elsewhere) and cannot read the rig's
SUMO, so the rig is its signal controller the way a site's controller (or a gateway in front of
it) would be: the RSU gets a ``udp_json`` controller (``spat.controllers``, one ``group_id``
``sg<N>`` per signal group) and every step, right after SUMO has advanced, the rig sends the
light's state as one JSON datagram (``roadside.ingest.signal``; the exact next change for a
fixed-time program, which such a controller knows and vouches for: ``next_change_is_exact``).
The RSU reads it ``spat.poll_hz`` times a second and streams it as it would a real controller's.
Then:

- latency: for every change of a group's state the rig's SUMO step produced (wall time right
  after that step), the wall time the client first received a SPaT showing it, minus that;
  a change never received within ``LOST_AFTER_S`` is counted, not timed;
- judging as in lock-step, SUMO's light taken as the feed can tell it (its five colours: a
  green arrow beside a red shows red, blinking amber dark).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from hil.intersection import SumoIntersection, build_intersection, signalised_junctions
from hil.result import Percentiles, SpatFigures
from hil.signals import next_change_ms
from hil.spat import SumoSignalController
from hil.sumo import SignalProgram as SumoProgram
from roadside.config import RsuConfig
from roadside.controllers.config import (
    SumoControllerConfig,
    SumoGroupMap,
    UdpJsonControllerConfig,
    UdpJsonGroupMap,
)
from roadside.controllers.udp_json import colour_state
from roadside.ingest import signal as signal_format
from roadside.map_config import IntersectionMapConfig, MapConfig
from roadside.spat import SpatChecker
from vehicle import ReconnectPolicy, RoadsideClient
from vehicle.lanes import match_lane
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState
from vicoop.intersection import IntersectionMap, LaneDirection
from vicoop.model import NS_PER_S
from vicoop.spat import ControllerReading, ControlMode, GroupReading, MovementPhaseState, Spat

__all__ = [
    "LANE_EVERY",
    "LOST_AFTER_S",
    "RigSpat",
    "SpatProbe",
    "feed_colour",
    "spat_figures",
    "with_spat",
]

log = logging.getLogger(__name__)

LANE_EVERY = 10  # steps between lane-matching samples (0.5 s at the default 0.05 s step)
LOST_AFTER_S = 2.0  # a change no SPaT showed within this long (wall) is counted as not received

_S = MovementPhaseState
_COLOURS = {
    _S.PROTECTED_MOVEMENT_ALLOWED: SignalColour.GREEN,
    _S.PERMISSIVE_MOVEMENT_ALLOWED: SignalColour.GREEN,
    _S.PROTECTED_CLEARANCE: SignalColour.AMBER,
    _S.PERMISSIVE_CLEARANCE: SignalColour.AMBER,
    _S.PRE_MOVEMENT: SignalColour.RED_AMBER,
    _S.STOP_AND_REMAIN: SignalColour.RED,
    _S.STOP_THEN_PROCEED: SignalColour.RED,
}


def feed_colour(state: MovementPhaseState) -> SignalColour:
    """The JSON feed's colour for a J2735 state (what a controller's feed can say of it)."""
    return _COLOURS.get(state, SignalColour.DARK)


def _green_kind(si: SumoIntersection, group: int) -> str:
    """``permissive`` for a group whose green is SUMO's ``g``, else ``protected``."""
    i = si.program.index(group)
    permissive = any(p.states[i] == _S.PERMISSIVE_MOVEMENT_ALLOWED for p in si.program.phases)
    return "permissive" if permissive else "protected"


def with_spat(
    config: RsuConfig,
    net: Any,
    junction: str,
    intersection_id: str,
    to_enu: Any,
    feed_port: int | None = None,
) -> tuple[RsuConfig, SumoIntersection] | None:
    """``config`` with the junction's MAP and its traffic light as a ``sumo`` controller (or,
    with ``feed_port``, as a ``udp_json`` controller listening there: real time), and the
    junction's ``SumoIntersection``; None when the junction has no traffic light or the
    configuration gives SPaT or a MAP of its own (the site's choice is kept)."""
    if config.spat.controllers or config.map.intersections:
        return None
    if junction not in signalised_junctions(net):
        return None
    si = build_intersection(net, junction, to_enu, intersection_id)
    links: dict[int, list[int]] = {}
    for (_, index), group in sorted(si.groups.items()):
        links.setdefault(group, []).append(index)
    controller: SumoControllerConfig | UdpJsonControllerConfig
    if feed_port is None:
        controller = SumoControllerConfig(
            intersection_id=si.map.intersection_id,
            tls_id=si.tls_id,
            groups=tuple(SumoGroupMap(signal_group=g, links=tuple(ix)) for g, ix in links.items()),
        )
    else:
        controller = UdpJsonControllerConfig(
            intersection_id=si.map.intersection_id,
            port=feed_port,
            groups=tuple(
                UdpJsonGroupMap(group_id=f"sg{g}", signal_group=g, green=_green_kind(si, g))
                for g in links
            ),
            next_change_is_exact=si.program.mode is ControlMode.FIXED_TIME,
        )
    spat = config.spat.model_copy(update={"controllers": (controller,)})
    the_map = MapConfig(intersections=(IntersectionMapConfig.from_model(si.map),))
    return config.model_copy(update={"spat": spat, "map": the_map}), si


class SpatProbe:
    """A vehicle client reading the RSU's MAP, then its SPaT stream, recording each update:
    every intersection's SPaT newer than the last one received, and the update's latency (wall
    since the rig's ``spat_at`` call for its newest SPaT, from ``published_wall``)."""

    def __init__(
        self, name: str, target: str, published_wall: dict[int, int], clock: Callable[[], int]
    ) -> None:
        self.name = name
        self.target = target
        self.published_wall = published_wall
        self.clock = clock
        self.maps: dict[str, IntersectionMap] = {}
        self.received: list[Spat] = []
        self.received_wall: list[int] = []  # when each of ``received`` arrived (wall, ns)
        self.latencies: list[tuple[int, float]] = []  # (valid_at ns, s)
        self.updates = 0
        self.last_sequence = 0
        self.connected = False
        self._newest: dict[str, int] = {}
        self._client: RoadsideClient | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"spat-probe-{self.name}")

    def adopt(self, data: Any) -> None:
        """What the same client received in the vehicle process (real time:
        ``hil.participants.SpatProbeData``), in place of this one's."""
        self.received, self.received_wall, self.updates = (
            list(data.received),
            list(data.received_wall),
            data.updates,
        )

    async def stop(self) -> None:
        if self.task is None:
            return
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
        self.task.cancel()
        done, _ = await asyncio.wait({self.task}, timeout=5.0)
        if done and not self.task.cancelled() and self.task.exception() is not None:
            log.warning("SPaT client %s ended with %r", self.name, self.task.exception())

    async def _run(self) -> None:
        policy = ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=1.0)
        async with RoadsideClient(
            self.target, reconnect=policy, clock=self.clock, stale_after_s=30.0
        ) as rsu:
            self._client = rsu
            self.maps = await rsu.map(timeout_s=30.0)
            async for update in rsu.spat():
                wall = time.time_ns()
                self.connected = True
                self.updates += 1
                self.last_sequence = update.sequence
                newest = None
                for iid, spat in update.intersections.items():
                    if spat.valid_at_ns <= self._newest.get(iid, -1):
                        continue  # an intersection's SPaT already received (another's is new)
                    self._newest[iid] = spat.valid_at_ns
                    self.received.append(spat)
                    self.received_wall.append(wall)
                    newest = max(newest or 0, spat.valid_at_ns)
                published = None if newest is None else self.published_wall.get(newest)
                if newest is not None and published is not None:
                    self.latencies.append((newest, (wall - published) / NS_PER_S))


@dataclass
class RigSpat:
    """One RSU's SPaT measurement: its junction, SUMO's light as ground truth, the client."""

    intersection: SumoIntersection
    observer: SumoSignalController
    probe: SpatProbe
    published_wall: dict[int, int]
    observations: list[ControllerReading] = field(default_factory=list)
    # Real time: the RSU's udp_json controller port the rig sends the light to (0: lock-step,
    # the RSU reads SUMO itself), and when (wall, ns) each observation's SUMO step ended.
    feed_port: int = 0
    observed_wall: list[int] = field(default_factory=list)
    feed_sent: int = 0
    wait_timeouts: int = 0
    lanes_inside: int = 0
    lanes_matched: int = 0

    def observe(self, t_ns: int, wall_ns: int | None = None) -> None:
        """SUMO's light now (the rig's clock ``t_ns``; its step ended at ``wall_ns``, default
        now): the ground truth of this step."""
        self.observations.append(self.observer.read(t_ns))
        self.observed_wall.append(time.time_ns() if wall_ns is None else wall_ns)

    def feed_datagram(self, program: SumoProgram, sim_s: float) -> bytes:
        """The light as the last observation saw it, as the controller's JSON datagram (real
        time): each group's colour, and when its colour next changes by SUMO's program
        (simulation ``sim_s`` is the observation's time; exact for a fixed-time program)."""
        reading = self.observations[-1]
        links: dict[int, list[int]] = {}
        for (tls, index), group in sorted(self.intersection.groups.items()):
            if tls == self.intersection.tls_id:
                links.setdefault(group, []).append(index)
        now_ms = round(sim_s * 1000)
        groups = []
        for g in reading.groups:
            change_ms = next_change_ms(program, links.get(g.signal_group, []))
            next_ns = 0 if change_ms is None else reading.read_at_ns + (change_ms - now_ms) * 10**6
            groups.append(
                SignalGroupState(
                    f"sg{g.signal_group}", f"sg{g.signal_group}", feed_colour(g.state), next_ns
                )
            )
        self.feed_sent += 1
        state = SignalState("", reading.intersection_id, reading.read_at_ns, tuple(groups))
        return signal_format.encode(state, self.feed_sent)

    def as_fed(self, reading: ControllerReading) -> ControllerReading:
        """``reading`` as the JSON feed tells it (what the RSU can know of it in real time)."""
        kinds = {g: _green_kind(self.intersection, g) for g in self.intersection.program.groups}
        return dataclasses.replace(
            reading,
            groups=tuple(
                GroupReading(
                    g.signal_group,
                    colour_state(feed_colour(g.state), kinds.get(g.signal_group, "protected")),
                    g.since_ns,
                )
                for g in reading.groups
            ),
        )

    def truth(self) -> list[ControllerReading]:
        """The observations the SPaT received is judged against: as SUMO showed them
        (lock-step), as the feed tells them (real time)."""
        if not self.feed_port:
            return self.observations
        return [self.as_fed(r) for r in self.observations]

    def change_latencies(self) -> tuple[list[float], int]:
        """Real time: for each change of a group's state (as the feed tells it) after the
        first observation, the wall seconds from the end of the SUMO step that produced it to
        the first SPaT received that shows it; and how many changes none showed within
        ``LOST_AFTER_S``."""
        truth = self.truth()
        walls = self.probe.received_wall
        shown: list[dict[int, MovementPhaseState]] = []
        for spat in self.probe.received:
            first: dict[int, MovementPhaseState] = {}
            for e in spat.movements:
                first.setdefault(e.signal_group, e.state)
            shown.append(first)
        latencies: list[float] = []
        lost = 0
        before: dict[int, MovementPhaseState] = {}
        for reading, at in zip(truth, self.observed_wall, strict=True):
            for g in reading.groups:
                was = before.get(g.signal_group)
                before[g.signal_group] = g.state
                if was is None or was == g.state or not walls or at < walls[0]:
                    continue  # no change, or the client not connected yet
                k = bisect.bisect_left(walls, at)
                deadline = at + round(LOST_AFTER_S * NS_PER_S)
                while k < len(walls) and walls[k] <= deadline:
                    if shown[k].get(g.signal_group) == g.state:
                        latencies.append((walls[k] - at) / NS_PER_S)
                        break
                    k += 1
                else:
                    lost += 1
        return latencies, lost

    async def publish(self, handle: Any, t_ns: int, timeout_s: float = 1.0) -> None:
        """The RSU's SPaT for ``t_ns`` (``spat_at``), then wait until the client has it."""
        self.published_wall[t_ns] = time.time_ns()
        sequence = await handle.spat_at(t_ns)
        if sequence is None:
            del self.published_wall[t_ns]
            return
        await self.received(sequence, timeout_s)

    async def received(self, sequence: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.probe.last_sequence < sequence:
            if time.monotonic() > deadline:
                self.wait_timeouts += 1
                return False
            await asyncio.sleep(0.0002)
        return True

    def sample_lanes(self, vehicles: list[tuple[str, float, float, float]]) -> None:
        """Lane matching of SUMO's vehicles (SUMO lane id, ENU x, y m, heading rad) on the
        MAP the client received (see the module)."""
        m = self.probe.maps.get(self.intersection.map.intersection_id)
        if m is None or not vehicles:
            return
        ingress = [ln for ln in m.lanes if ln.direction is LaneDirection.INGRESS]
        lines = np.array([ln.line for ln in ingress], dtype=object)
        half = np.array([ln.width_m / 2 for ln in ingress])
        lengths = shapely.length(lines)
        for lane_id, x, y, heading in vehicles:
            point = shapely.Point(x, y)
            along = shapely.line_locate_point(lines, point)
            on = (shapely.distance(lines, point) <= half) & (along > 0) & (along < lengths)
            if not on.any():
                continue
            self.lanes_inside += 1
            match = match_lane(m, x, y, heading)
            if match is not None and m.lane(match.lane_id).name == lane_id:
                self.lanes_matched += 1

    def checker(self, t0_ns: int) -> SpatChecker:
        """Every SPaT received since ``t0_ns`` and every observation, judged in time order (an
        observation before the SPaT of the same instant, as it was read before)."""
        checker = SpatChecker()
        events: list[tuple[int, int, ControllerReading | Spat]] = [
            (r.read_at_ns, 0, r) for r in self.truth()
        ]
        events += [(s.valid_at_ns, 1, s) for s in self.probe.received if s.valid_at_ns >= t0_ns]
        for _, kind, item in sorted(events, key=lambda e: (e[0], e[1])):
            if kind == 0:
                assert isinstance(item, ControllerReading)
                checker.observe(item)
            else:
                assert isinstance(item, Spat)
                checker.record(item)
        return checker


def spat_figures(runs: list[RigSpat], t0_ns: int) -> SpatFigures:
    """The SPaT figures over every RSU's intersection (real time when the RSUs are fed)."""
    changes = outside = predictions = 0
    errors: dict[str, list[float]] = {}
    for r in runs:
        checker = r.checker(t0_ns)
        report = checker.report()
        changes += report.changes
        outside += report.changes_outside
        predictions += report.predictions
        mode = r.intersection.program.mode.name.lower()
        errors.setdefault(mode, []).extend(checker.likely_errors_s)
    inside = sum(r.lanes_inside for r in runs)
    matched = sum(r.lanes_matched for r in runs)
    realtime = any(r.feed_port for r in runs)
    lost = 0
    if realtime:
        latencies = []
        for r in runs:
            lat, n = r.change_latencies()
            latencies += lat
            lost += n
        basis = (
            "receive of the first SPaT showing a change - the end of the SUMO step that made "
            "it (wall clock; real time, the light fed to the RSU as JSON over UDP)"
        )
    else:
        latencies = [lat for r in runs for t, lat in r.probe.latencies if t >= t0_ns]
        basis = "receive - the rig's spat_at call (wall clock; lock-step)"

    def q(values: list[float], p: float) -> float | None:
        return round(float(np.percentile(values, p)), 4) if values else None

    return SpatFigures(
        intersections=[r.intersection.map.intersection_id for r in runs],
        latency_ms=Percentiles.of(latencies),
        latency_basis=basis,
        updates_received=sum(r.probe.updates for r in runs),
        changes=changes,
        outside_window=outside,
        predictions_judged=predictions,
        likely_end_error_s={k: {"p50": q(v, 50), "p90": q(v, 90)} for k, v in errors.items()},
        lane_match_rate=round(matched / inside, 4) if inside else None,
        lane_match_samples=inside,
        client_wait_timeouts=sum(r.wait_timeouts for r in runs),
        changes_not_received=lost,
    )
