"""GLOSA in the rig (``vicoop hil run --glosa FRACTION``): equipped SUMO vehicles follow the
speed advisory the vehicle library computes from the SPaT they received.

Who is equipped: each SUMO vehicle of a motorised class (not bicycles, pedestrians or rail) is
equipped with probability ``fraction``, drawn from a generator seeded with the run's ``--seed``
and the vehicle's id (``is_equipped``): reproducible, and independent of the order vehicles
depart in.

What an equipped vehicle does, every ``GLOSA_EVERY`` steps while it is on an ingress lane of an
RSU's MAP (``advice_for``, pure, as a vehicle developer would write it with ``vehicle.lanes``
and ``vehicle.glosa``):

- its own position (front bumper), heading and speed: what its GNSS and odometry give (SUMO's
  state of that vehicle, in the RSU's ENU frame);
- its lane: ``match_lane`` on the MAP the rig's vehicle client (``hil.rigspat.SpatProbe``)
  received over gRPC; the distance to the stop line along that lane;
- its manoeuvre: from its own route (the navigation's next road: the next edge of its SUMO
  route, found on the MAP as the egress lane it leads to; the rig's MAPs name lanes by SUMO lane
  id): the MAP connection from its lane (else from a lane of its approach, to which it will
  change) to that road;
- its signal's events: ``signal_for`` on the newest SPaT that client *received* (one client per
  RSU carries SPaT for every equipped vehicle: the SPaT is the same for all of them), never
  SUMO's traffic light;
- ``advise`` with its own limits (``Vehicle``: its vType's acceleration and deceleration, at
  most the speed it would drive on its lane, at least ``MIN_SPEED_MPS``).

It then follows the advice in SUMO (``GlosaFleet`` decides, ``hil.sumo.SumoSim`` applies):
``setSpeed`` to the advised speed with SUMO's default speed mode, so SUMO's car following still
keeps it from running into the car ahead (or through a red); released (``setSpeed -1``, SUMO's
own driver again) once it is past the stop line (on no ingress lane of any MAP) or when there
is no advice.

The figures (``glosa_figures``) come from SUMO's own outputs: the tripinfo file, with the
emissions device on every vehicle (HBEFA; SUMO 1.28's default class for passenger cars is
``HBEFA4/PC_petrol_Euro-4``). Counted, the same way for both groups: the motorised vehicles
that departed after the run started (warm-up over), finished their trip before it ended, and
whose route passes an ingress lane of an RSU's MAP. Stops are tripinfo's ``waitingCount``
(times the vehicle's speed fell to 0.1 m/s or below, scheduled stops not counted), CO2 its
``emissions CO2_abs`` (mg, reported in g).
"""

from __future__ import annotations

import math
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hil.errors import HilError
from hil.geo import NetToEnu
from hil.result import GlosaFigures, GlosaGroup
from hil.rigspat import RigSpat
from hil.sumo import SumoSim
from vehicle.glosa import Advice, Vehicle, advise
from vehicle.lanes import LaneMatch, match_lane, signal_for
from vicoop.intersection import Connection, IntersectionMap, LaneDirection
from vicoop.spat import Spat

__all__ = [
    "GLOSA_EVENTS",
    "GLOSA_EVERY",
    "MIN_SPEED_MPS",
    "UNEQUIPPABLE",
    "GlosaFleet",
    "GlosaRig",
    "Observed",
    "Trip",
    "advice_for",
    "advice_on",
    "glosa_figures",
    "ingress_roads",
    "is_equipped",
    "newest_spat",
    "read_tripinfo",
    "sumo_args",
    "validate_fraction",
]

# The SPaT horizon the rig's RSUs stream with --glosa (``spat.events_per_group``): a whole
# cycle, so a vehicle that cannot make the current green plans for the next one.
GLOSA_EVENTS = 4
GLOSA_EVERY = 5  # steps between advisories (0.25 s at the default 0.05 s step)
# The slowest speed advised (m/s). On cologne1 (in-process SPaT, 400 s) 2 rather than 4 took
# equipped stops from -28 % to -46 % against unequipped ones: a vehicle that may roll slowly
# up to a red that is about to end keeps moving instead of stopping.
MIN_SPEED_MPS = 2.0
# The queue ahead (``queue_clear_s``): slower than this it is queued (m/s); the space a queued
# car takes (m); saturation headway (s) and the first car's start-up after green (s).
QUEUED_MPS = 2.0
JAM_SPACING_M = 7.5
HEADWAY_S = 2.0
STARTUP_S = 2.0
# Whether a vehicle with a queue ahead is advised (planning past the queue's clearing) or
# left to SUMO's driver until the queue ahead moves.
ADVISE_IN_QUEUE = False
HALTING_MPS = 0.1  # a stop, as SUMO's waitingCount counts them (m/s)
# SUMO vehicle classes that are not equipped (and not counted): no engine, or on rails.
UNEQUIPPABLE = frozenset(
    {"bicycle", "pedestrian", "tram", "rail_urban", "rail", "rail_electric", "rail_fast", "ship"}
)


def validate_fraction(fraction: float) -> float:
    """``fraction`` if it is a share of vehicles (0..1), else a ``HilError`` naming it."""
    if not (math.isfinite(fraction) and 0.0 <= fraction <= 1.0):
        raise HilError(f"--glosa: the equipped fraction must be in [0, 1], got {fraction!r}")
    return fraction


def is_equipped(vehicle_id: str, seed: int, fraction: float) -> bool:
    """Whether SUMO vehicle ``vehicle_id`` is equipped, in a run seeded ``seed`` with
    ``fraction`` of vehicles equipped: a draw seeded by both (the same in every run)."""
    if fraction <= 0.0:
        return False
    return random.Random(f"glosa:{seed}:{vehicle_id}").random() < fraction


def sumo_args(tripinfo: Path) -> list[str]:
    """SUMO options for the figures: tripinfo into ``tripinfo`` and HBEFA emissions of every
    vehicle."""
    return ["--tripinfo-output", str(tripinfo), "--device.emissions.probability", "1"]


@dataclass(frozen=True, slots=True)
class Observed:
    """An equipped vehicle as it knows itself: front bumper position (m) and heading (rad
    counter-clockwise from east) in the RSU's ENU frame, speed (m/s), the next road of its route
    (a SUMO edge id; None at its route's end) and its kinematic limits."""

    vehicle_id: str
    x_m: float
    y_m: float
    heading_rad: float
    speed_mps: float
    next_road: str | None
    limits: Vehicle
    queue_s: float = 0.0  # the queue ahead's clearing time (``queue_clear_s``)


def _road(lane_name: str) -> str:
    """The road (SUMO edge) of a MAP lane named by its SUMO lane id (``edge_index``)."""
    return lane_name.rsplit("_", 1)[0]


def _connection(m: IntersectionMap, lane_id: int, next_road: str) -> Connection | None:
    """The MAP connection taking the vehicle from ingress lane ``lane_id`` to ``next_road``:
    from that lane, else from another ingress lane of its approach (a lane change ahead)."""
    into = [c for c in m.connections if _road(m.lane(c.to_lane).name) == next_road]
    for c in into:
        if c.from_lane == lane_id:
            return c
    approach = m.lane(lane_id).approach
    for c in into:
        if m.lane(c.from_lane).approach == approach:
            return c
    return None


def advice_for(m: IntersectionMap, spat: Spat | None, v: Observed, now_ns: int) -> Advice | None:
    """The advisory for ``v`` at intersection ``m`` (the MAP received) from ``spat`` (the newest
    SPaT received for it) at ``now_ns`` (the RSU's clock); None when the vehicle is on no
    ingress lane of ``m``, has no signalised manoeuvre there, or no speed arrives on green."""
    match = match_lane(m, v.x_m, v.y_m, v.heading_rad)
    return None if match is None else advice_on(m, spat, v, match, now_ns)


def advice_on(
    m: IntersectionMap, spat: Spat | None, v: Observed, match: LaneMatch, now_ns: int
) -> Advice | None:
    """``advice_for`` once the vehicle's lane is matched (``match``, on ``m``)."""
    if spat is None or v.next_road is None:
        return None
    conn = _connection(m, match.lane_id, v.next_road)
    if conn is None:
        return None
    events = signal_for(m, spat, conn.from_lane, conn.manoeuvre)
    if not events:
        return None
    return advise(
        events, match.distance_to_stop_m, v.speed_mps, now_ns, v.limits, queue_s=v.queue_s
    )


def queue_clear_s(distance_to_stop_m: float, leader: tuple[float, float] | None) -> float:
    """How long after a green starts the vehicles queued ahead have cleared the stop line (s),
    from what the vehicle's own front sensor sees: ``leader`` is the gap to the vehicle ahead
    (m, its rear to our front) and that vehicle's speed (m/s), or None. A leader slower than
    ``QUEUED_MPS`` before the stop line heads a queue of about one vehicle per
    ``JAM_SPACING_M`` between it and the line, each crossing ``HEADWAY_S`` after the one before,
    the first ``STARTUP_S`` after the green starts (saturation flow)."""
    if leader is None:
        return 0.0
    gap_m, leader_mps = leader
    queue_m = distance_to_stop_m - gap_m
    if leader_mps > QUEUED_MPS or queue_m <= 0.0:
        return 0.0
    return STARTUP_S + HEADWAY_S * max(1, math.ceil(queue_m / JAM_SPACING_M))


def ingress_roads(m: IntersectionMap) -> set[str]:
    """The roads (SUMO edges) of the MAP's ingress lanes."""
    return {_road(ln.name) for ln in m.lanes if ln.direction is LaneDirection.INGRESS}


@dataclass
class GlosaFleet:
    """Which equipped vehicles are under advice; turns each update's advisories into speed
    commands (pure: no SUMO here).

    ``update(advised)`` takes every vehicle an advisory was computed for this update (None: no
    advice) and returns the commands: ``(vehicle_id, speed_mps)`` to follow an advice,
    ``(vehicle_id, None)`` to release a vehicle under advice that has none now, or is on no
    ingress lane any more (not in ``advised``)."""

    controlled: dict[str, float] = field(default_factory=dict)
    advised_vehicles: set[str] = field(default_factory=set)
    samples: int = 0  # (vehicle, update) pairs on an ingress lane of a MAP with SPaT
    samples_advised: int = 0
    releases: int = 0

    def update(self, advised: Mapping[str, Advice | None]) -> list[tuple[str, float | None]]:
        commands: list[tuple[str, float | None]] = []
        for vid, advice in advised.items():
            self.samples += 1
            if advice is None:
                continue
            self.samples_advised += 1
            self.advised_vehicles.add(vid)
            speed = round(advice.speed_mps, 2)
            if self.controlled.get(vid) != speed:
                commands.append((vid, speed))
            self.controlled[vid] = speed
        for vid in [v for v in self.controlled if advised.get(v) is None]:
            del self.controlled[vid]
            self.releases += 1
            commands.append((vid, None))
        return commands

    def forget(self, gone: Iterable[str]) -> None:
        """Vehicles that left the simulation: no command can reach them."""
        for vid in gone:
            self.controlled.pop(vid, None)


@dataclass(frozen=True, slots=True)
class Trip:
    """One finished trip from SUMO's tripinfo: depart and arrival (SUMO s), stops
    (``waitingCount``), CO2 (``emissions CO2_abs``, mg) and route length (m)."""

    vehicle_id: str
    depart_s: float
    arrival_s: float
    stops: int
    co2_mg: float
    route_m: float = 0.0


def read_tripinfo(path: Path) -> list[Trip]:
    """The trips of a SUMO tripinfo file written with the emissions device."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise HilError(f"{path}: no readable SUMO tripinfo: {exc}") from None
    trips = []
    for t in root.iter("tripinfo"):
        em = t.find("emissions")
        trips.append(
            Trip(
                t.attrib["id"],
                float(t.attrib["depart"]),
                float(t.attrib["arrival"]),
                int(t.attrib.get("waitingCount", "0")),
                float(em.attrib["CO2_abs"]) if em is not None else math.nan,
                float(t.attrib.get("routeLength", "0")),
            )
        )
    return trips


def _group(trips: Sequence[Trip], stops_at_signals: Mapping[str, int]) -> GlosaGroup:
    if not trips:
        return GlosaGroup(0, None, None, None, None)
    n = len(trips)
    km = sum(t.route_m for t in trips) / 1000.0
    return GlosaGroup(
        n,
        round(sum(t.stops for t in trips) / n, 4),
        round(sum(t.co2_mg for t in trips) / n / 1000.0, 2),
        round(sum(stops_at_signals.get(t.vehicle_id, 0) for t in trips) / n, 4),
        round(sum(t.co2_mg for t in trips) / 1000.0 / km, 2) if km > 0 else None,
    )


def _reduction(equipped: float | None, unequipped: float | None) -> float | None:
    if equipped is None or not unequipped:
        return None
    return round(1.0 - equipped / unequipped, 4)


def glosa_figures(
    trips: Iterable[Trip],
    *,
    fraction: float,
    seed: int,
    start_s: float,
    counted: set[str],
    fleet: GlosaFleet,
    stops_at_signals: Mapping[str, int] | None = None,
) -> GlosaFigures:
    """The figures of a run: the finished ``trips`` that departed at or after ``start_s`` (SUMO
    s) of the vehicles in ``counted`` (motorised, routed through an RSU's MAP), split by
    ``is_equipped``; reductions are 1 - equipped / unequipped."""
    kept = [t for t in trips if t.depart_s >= start_s and t.vehicle_id in counted]
    if any(math.isnan(t.co2_mg) for t in kept):
        raise HilError("SUMO's tripinfo has no emissions: the emissions device was not on")
    eq = [t for t in kept if is_equipped(t.vehicle_id, seed, fraction)]
    un = [t for t in kept if not is_equipped(t.vehicle_id, seed, fraction)]
    at = stops_at_signals or {}
    e, u = _group(eq, at), _group(un, at)
    return GlosaFigures(
        fraction=fraction,
        equipped=e,
        unequipped=u,
        stops_reduction=_reduction(e.stops_per_vehicle, u.stops_per_vehicle),
        co2_reduction=_reduction(e.co2_g_per_vehicle, u.co2_g_per_vehicle),
        equipped_advised=sum(1 for t in eq if t.vehicle_id in fleet.advised_vehicles),
        advice_share=round(fleet.samples_advised / fleet.samples, 4) if fleet.samples else None,
        counted=(
            "motorised vehicles departed after the warm-up, trip finished within the run, "
            "route through an ingress lane of an RSU's MAP"
        ),
    )


def newest_spat(received: Sequence[Spat], intersection_id: str) -> Spat | None:
    """The newest of the SPaT a client received (in order) for ``intersection_id``."""
    for spat in reversed(received):
        if spat.intersection_id == intersection_id:
            return spat
    return None


class GlosaRig:
    """GLOSA in one rig run: the equipped choice, the advisories from each RSU's vehicle client
    (its received MAP and SPaT), the commands to SUMO, and which vehicles count (see the
    module). ``step`` runs every rig step in lock-step, after the RSUs' SPaT for that step has
    been received; ``figures`` after SUMO has closed (its tripinfo written)."""

    def __init__(self, fraction: float, seed: int, tripinfo: Path, start_s: float) -> None:
        self.fraction = validate_fraction(fraction)
        self.seed = seed
        self.tripinfo = tripinfo
        self.start_s = start_s
        self.fleet = GlosaFleet()
        self.counted: set[str] = set()
        # Stops on the MAPs' ingress lanes, by vehicle (as tripinfo counts: speed <= 0.1 m/s).
        self.stops_at_signals: dict[str, int] = {}
        self._halted: set[str] = set()
        self._equipped: dict[str, bool] = {}

    def equipped(self, vehicle_id: str, vclass: str) -> bool:
        if vclass in UNEQUIPPABLE:
            return False
        if vehicle_id not in self._equipped:
            self._equipped[vehicle_id] = is_equipped(vehicle_id, self.seed, self.fraction)
        return self._equipped[vehicle_id]

    def step(
        self, sumo: SumoSim, spats: Sequence[tuple[RigSpat, NetToEnu]], now_ns: int, k: int
    ) -> None:
        """Step ``k`` at ``now_ns`` (the rig's clock): note departures, and every
        ``GLOSA_EVERY`` steps advise the equipped vehicles on the MAPs' ingress lanes."""
        roads = set().union(*(ingress_roads(rs.intersection.map) for rs, _ in spats))
        for vid, vclass, route in sumo.departed():
            if vclass not in UNEQUIPPABLE and roads.intersection(route):
                self.counted.add(vid)
        self.fleet.forget(sumo.arrived())
        self._count_stops(sumo, spats, roads)
        if k % GLOSA_EVERY:
            return
        advised: dict[str, Advice | None] = {}
        for rs, to_enu in spats:
            iid = rs.intersection.map.intersection_id
            m = rs.probe.maps.get(iid)
            if m is None:
                continue  # the client has no MAP yet
            spat = newest_spat(rs.probe.received, iid)
            for vid, vclass, x, y, heading, speed in sumo.vehicle_states(
                rs.intersection.junction, to_enu
            ):
                if not self.equipped(vid, vclass):
                    continue
                match = match_lane(m, x, y, heading)
                if match is None:
                    continue
                max_mps, accel, decel = sumo.vehicle_limits(vid)
                if max_mps <= 0.0:
                    continue
                limits = Vehicle(min(MIN_SPEED_MPS, max_mps), max_mps, accel, decel)
                queue = queue_clear_s(
                    match.distance_to_stop_m, sumo.leader(vid, match.distance_to_stop_m)
                )
                if queue > 0.0 and not ADVISE_IN_QUEUE:
                    advised.setdefault(vid, None)  # behind a queue: SUMO's driver follows it
                    continue
                v = Observed(vid, x, y, heading, speed, sumo.next_edge(vid), limits, queue)
                advice = advice_on(m, spat, v, match, now_ns)
                if advised.get(vid) is None:
                    advised[vid] = advice
        for vid, target in self.fleet.update(advised):
            sumo.set_speed(vid, target)

    def _count_stops(
        self, sumo: SumoSim, spats: Sequence[tuple[RigSpat, NetToEnu]], roads: set[str]
    ) -> None:
        halted: set[str] = set()
        for rs, _ in spats:
            for vid, speed in sumo.vehicle_speeds(rs.intersection.junction).items():
                if speed <= HALTING_MPS:
                    halted.add(vid)
                    if vid not in self._halted and sumo.road_of(vid) in roads:
                        self.stops_at_signals[vid] = self.stops_at_signals.get(vid, 0) + 1
        self._halted = halted

    def figures(self) -> GlosaFigures:
        return glosa_figures(
            read_tripinfo(self.tripinfo),
            fraction=self.fraction,
            seed=self.seed,
            start_s=self.start_s,
            counted=self.counted,
            fleet=self.fleet,
            stops_at_signals=self.stops_at_signals,
        )
