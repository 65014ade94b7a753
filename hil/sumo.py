"""The SUMO adapter: runs a scenario with libsumo and reads the road users around each site.

The only module that talks to SUMO. ``SumoSim.step()`` advances one step; ``road_users(junction,
to_enu)`` returns ``GroundTruth`` in a site's ENU frame (box centres: SUMO reports the front
bumper); ``signal_links(junction)`` and ``signal_program(tls)`` read the traffic lights that
control a junction (``hil.signals`` turns them into signal states). libsumo runs SUMO in this process (one simulation per process), which is what lets the
rig advance SUMO and the stack in lock-step without a socket in between.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hil.errors import ScenarioError
from hil.geo import FloatArray, NetToEnu, sumo_heading_to_enu
from hil.truth import GroundTruth
from vicoop.model import ObjectClass

VCLASS_TO_OBJECT: dict[str, ObjectClass] = {
    "passenger": ObjectClass.CAR,
    "private": ObjectClass.CAR,
    "taxi": ObjectClass.CAR,
    "evehicle": ObjectClass.CAR,
    "emergency": ObjectClass.VAN,
    "authority": ObjectClass.CAR,
    "army": ObjectClass.TRUCK,
    "delivery": ObjectClass.VAN,
    "truck": ObjectClass.TRUCK,
    "trailer": ObjectClass.TRUCK,
    "bus": ObjectClass.BUS,
    "coach": ObjectClass.BUS,
    "tram": ObjectClass.TRAM,
    "rail_urban": ObjectClass.TRAM,
    "motorcycle": ObjectClass.MOTORCYCLE,
    "moped": ObjectClass.MOTORCYCLE,
    "bicycle": ObjectClass.BICYCLE,
    "pedestrian": ObjectClass.PEDESTRIAN,
}


@dataclass(frozen=True)
class SignalLink:
    """A link (lane to lane through a junction) a traffic light controls: ``index`` into the
    light's state string, the incoming lane, and the direction traffic enters the junction on it
    (the unit vector of the lane's last segment, net frame)."""

    tls_id: str
    index: int
    in_lane: str
    direction_xy: tuple[float, float]


@dataclass(frozen=True)
class SignalProgram:
    """A traffic light at one step: its state string (one character per link), the simulation
    time of its next switch (s), its current program's phases (duration s, state) and the
    index of the current phase (phases empty when SUMO gives none, e.g. the "off" program)."""

    state: str
    next_switch_s: float
    phases: tuple[tuple[float, str], ...]
    phase: int


def _pedestrian() -> dict[int, Any]:
    from libsumo import constants as tc

    return {
        tc.VAR_LENGTH: 0.5,
        tc.VAR_WIDTH: 0.5,
        tc.VAR_HEIGHT: 1.75,
        tc.VAR_VEHICLECLASS: "pedestrian",
    }


def sumo_binary() -> str:
    """The ``sumo`` executable of the eclipse-sumo package."""
    import sumo

    return str(Path(sumo.SUMO_HOME) / "bin" / "sumo")


def netconvert_binary() -> str:
    """The ``netconvert`` executable of the eclipse-sumo package."""
    import sumo

    return str(Path(sumo.SUMO_HOME) / "bin" / "netconvert")


def rebuilt_net(net: Path, workdir: Path, tls_type: str) -> Path:
    """``net`` with its traffic lights rebuilt as SUMO programs of ``tls_type`` (``actuated``,
    ``delay_based``, ``static``: ``netconvert --tls.rebuild --tls.default-type TYPE``, which
    gives the programs SUMO's own timing and detectors), written into ``workdir``."""
    out = workdir / (net.name.removesuffix(".net.xml") + f".{tls_type}.net.xml")
    done = subprocess.run(
        [
            netconvert_binary(),
            "-s",
            str(net),
            "--tls.rebuild",
            "--tls.default-type",
            tls_type,
            "-o",
            str(out),
            "--no-warnings",
            "true",
        ],
        capture_output=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise ScenarioError(
            f"{net}: netconvert --tls.rebuild failed: {done.stderr.decode()[-300:]}"
        )
    return out


def read_sumocfg(path: Path) -> dict[str, str]:
    """The ``value`` of each option in a ``.sumocfg`` (``net-file``, ``begin``, ...)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ScenarioError(f"{path}: not a readable SUMO configuration: {exc}") from None
    return {el.tag: el.attrib["value"] for el in root.iter() if "value" in el.attrib}


def net_file(sumocfg: Path) -> Path:
    options = read_sumocfg(sumocfg)
    if "net-file" not in options:
        raise ScenarioError(f"{sumocfg}: no net-file")
    return (sumocfg.parent / options["net-file"].split(",")[0]).resolve()


class SumoSim:
    """One SUMO run of ``sumocfg`` with steps of ``step_length_s``.

    ``net_only`` loads just the network (to convert coordinates while generating a site file);
    ``net`` runs the scenario on another net than its own (its lights rebuilt, say);
    ``extra_args`` are more SUMO options (outputs, an end time).
    """

    def __init__(
        self,
        sumocfg: Path,
        step_length_s: float = 0.05,
        seed: int = 1,
        net_only: bool = False,
        net: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.sumocfg = sumocfg
        self.net = net
        self.extra_args = extra_args
        self.step_length_s = step_length_s
        self.seed = seed
        self.net_only = net_only
        self._open = False
        self._ids: dict[str, int] = {}
        self._subscribed: set[str] = set()

    def start(self) -> None:
        import libsumo

        if self.net_only:
            args = ["-n", str(net_file(self.sumocfg)), "--begin", "0", "--end", "1"]
        else:
            args = [
                "-c",
                str(self.sumocfg),
                "--step-length",
                f"{self.step_length_s:g}",
                "--seed",
                str(self.seed),
            ]
            if self.net is not None:
                args += ["-n", str(self.net)]
            args += list(self.extra_args)
        try:
            libsumo.start(
                [
                    sumo_binary(),
                    *args,
                    "--no-step-log",
                    "true",
                    "--no-warnings",
                    "true",
                    "--duration-log.disable",
                    "true",
                ]
            )
        except Exception as exc:  # libsumo raises its own TraCIException / FatalTraCIError
            raise ScenarioError(f"{self.sumocfg}: SUMO would not start: {exc}") from None
        self._open = True

    def close(self) -> None:
        import libsumo

        if self._open:
            libsumo.close()
            self._open = False

    def __enter__(self) -> SumoSim:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def time_s(self) -> float:
        import libsumo

        return float(libsumo.simulation.getTime())

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        """Net (x, y) m to (lon, lat) degrees with the net's own projection."""
        import libsumo

        lon, lat = libsumo.simulation.convertGeo(x, y)
        return float(lon), float(lat)

    def junction_xy(self, junction: str) -> tuple[float, float]:
        import libsumo

        x, y = libsumo.junction.getPosition(junction)
        return float(x), float(y)

    def watch(self, junction: str, radius_m: float) -> None:
        """Report road users (SUMO vehicles of every class, and persons) within ``radius_m`` of ``junction`` at every step."""
        import libsumo
        from libsumo import constants as tc

        variables = [
            tc.VAR_POSITION,
            tc.VAR_ANGLE,
            tc.VAR_SPEED,
            tc.VAR_LENGTH,
            tc.VAR_WIDTH,
            tc.VAR_HEIGHT,
            tc.VAR_VEHICLECLASS,
        ]
        libsumo.junction.subscribeContext(
            junction, tc.CMD_GET_VEHICLE_VARIABLE, radius_m, variables
        )
        libsumo.junction.subscribeContext(
            junction, tc.CMD_GET_PERSON_VARIABLE, radius_m, variables[:3]
        )
        self._subscribed.add(junction)

    def step(self) -> float:
        """Advance one step; returns the simulation time (s)."""
        import libsumo

        libsumo.simulationStep()
        return self.time_s

    def run_until(self, time_s: float) -> float:
        """Advance to ``time_s`` (SUMO time, s) without stopping between; the time then."""
        import libsumo

        libsumo.simulationStep(time_s)
        return self.time_s

    def expected_remaining(self) -> int:
        import libsumo

        return int(libsumo.simulation.getMinExpectedNumber())

    def _id(self, sumo_id: str) -> int:
        return self._ids.setdefault(sumo_id, len(self._ids) + 1)

    def road_users(self, junction: str, to_enu: NetToEnu, t_ns: int) -> GroundTruth:
        """Ground truth around ``junction`` (see ``watch``) at this step, in a site's ENU frame."""
        import libsumo
        from libsumo import constants as tc

        # Vehicles and persons come merged; a person has no size or class of its own here.
        rows: list[tuple[str, dict[int, Any]]] = [
            (k, r if tc.VAR_VEHICLECLASS in r else {**_pedestrian(), **r})
            for k, r in libsumo.junction.getContextSubscriptionResults(junction).items()
            if tc.VAR_POSITION in r
        ]
        n = len(rows)
        if n == 0:
            return GroundTruth.empty(t_ns)
        xy = np.array([r[tc.VAR_POSITION] for _, r in rows], dtype=np.float64).reshape(n, 2)
        angle = np.array([r[tc.VAR_ANGLE] for _, r in rows], dtype=np.float64)
        speed = np.array([r[tc.VAR_SPEED] for _, r in rows], dtype=np.float64)
        length = np.array([r[tc.VAR_LENGTH] for _, r in rows], dtype=np.float64)
        a = np.radians(angle)
        fwd_net = np.column_stack([np.sin(a), np.cos(a)])
        centre = xy - fwd_net * (length / 2)[:, None]
        classes = np.array(
            [
                int(VCLASS_TO_OBJECT.get(r[tc.VAR_VEHICLECLASS], ObjectClass.UNKNOWN))
                for _, r in rows
            ],
            dtype=np.int64,
        )
        heading = sumo_heading_to_enu(angle, to_enu)
        vel = speed[:, None] * np.column_stack([np.cos(heading), np.sin(heading)])
        sizes = np.column_stack(
            [length, [r[tc.VAR_WIDTH] for _, r in rows], [r[tc.VAR_HEIGHT] for _, r in rows]]
        )
        ids = np.array([self._id(k) for k, _ in rows], dtype=np.int64)
        return GroundTruth(t_ns, ids, to_enu.points(centre), vel, heading, classes, sizes)

    def _watched_poses(
        self, junction: str, to_enu: NetToEnu
    ) -> tuple[list[tuple[str, dict[int, Any]]], FloatArray, FloatArray]:
        """SUMO's vehicles around ``junction`` (see ``watch``): their (id, subscription
        results), front bumpers (N, 2) m and headings (N,) rad in the site's ENU frame."""
        import libsumo
        from libsumo import constants as tc

        rows = [
            (k, r)
            for k, r in libsumo.junction.getContextSubscriptionResults(junction).items()
            if tc.VAR_VEHICLECLASS in r and tc.VAR_POSITION in r
        ]
        if not rows:
            return [], np.empty((0, 2)), np.empty(0)
        xy = to_enu.points(np.array([r[tc.VAR_POSITION] for _, r in rows], dtype=np.float64))
        heading = sumo_heading_to_enu(
            np.array([r[tc.VAR_ANGLE] for _, r in rows], dtype=np.float64), to_enu
        )
        return rows, xy, heading

    def vehicle_lanes(
        self, junction: str, to_enu: NetToEnu
    ) -> list[tuple[str, float, float, float]]:
        """SUMO's vehicles around ``junction`` (see ``watch``) with their lane: (SUMO lane id,
        front bumper x, y m and heading rad in the site's ENU frame)."""
        import libsumo

        rows, xy, heading = self._watched_poses(junction, to_enu)
        return [
            (str(libsumo.vehicle.getLaneID(k)), float(p[0]), float(p[1]), float(h))
            for (k, _), p, h in zip(rows, xy, heading, strict=True)
        ]

    def vehicle_states(
        self, junction: str, to_enu: NetToEnu
    ) -> list[tuple[str, str, float, float, float, float]]:
        """SUMO's vehicles around ``junction`` (see ``watch``) as they know themselves: (SUMO
        id, vehicle class, front bumper x, y m and heading rad in the site's ENU frame, speed
        m/s)."""
        from libsumo import constants as tc

        rows, xy, heading = self._watched_poses(junction, to_enu)
        return [
            (
                k,
                str(r[tc.VAR_VEHICLECLASS]),
                float(p[0]),
                float(p[1]),
                float(h),
                float(r[tc.VAR_SPEED]),
            )
            for (k, r), p, h in zip(rows, xy, heading, strict=True)
        ]

    def vehicle_speeds(self, junction: str) -> dict[str, float]:
        """The speed (m/s) of each SUMO vehicle around ``junction`` (see ``watch``), by id."""
        import libsumo
        from libsumo import constants as tc

        return {
            str(k): float(r[tc.VAR_SPEED])
            for k, r in libsumo.junction.getContextSubscriptionResults(junction).items()
            if tc.VAR_VEHICLECLASS in r and tc.VAR_SPEED in r
        }

    def road_of(self, vehicle_id: str) -> str:
        """The edge the vehicle is on (an internal edge ``:junction_...`` inside a junction)."""
        import libsumo

        return str(libsumo.vehicle.getRoadID(vehicle_id))

    def next_edge(self, vehicle_id: str) -> str | None:
        """The edge after the one the vehicle is on along its route (None at the route's end)."""
        import libsumo

        route = libsumo.vehicle.getRoute(vehicle_id)
        index = int(libsumo.vehicle.getRouteIndex(vehicle_id))
        return str(route[index + 1]) if 0 <= index < len(route) - 1 else None

    def vehicle_limits(self, vehicle_id: str) -> tuple[float, float, float]:
        """The speed the vehicle would drive on its lane (m/s: the lane's limit times its speed
        factor, at most its top speed), its acceleration and deceleration (m/s^2)."""
        import libsumo

        v = libsumo.vehicle
        speed = min(float(v.getAllowedSpeed(vehicle_id)), float(v.getMaxSpeed(vehicle_id)))
        return speed, float(v.getAccel(vehicle_id)), float(v.getDecel(vehicle_id))

    def leader(self, vehicle_id: str, within_m: float) -> tuple[float, float] | None:
        """What the vehicle's front sensor sees within ``within_m``: the gap to the vehicle
        ahead on its lanes (m, rear to front bumper) and that vehicle's speed (m/s); None."""
        import libsumo

        found = libsumo.vehicle.getLeader(vehicle_id, within_m)
        if not found or not found[0]:
            return None
        return float(found[1]), float(libsumo.vehicle.getSpeed(found[0]))

    def set_speed(self, vehicle_id: str, speed_mps: float | None) -> None:
        """Hold the vehicle at ``speed_mps`` (SUMO's speed mode unchanged: it still keeps its
        safe gap and stops at red), or give it back to SUMO's driver (None)."""
        import libsumo

        libsumo.vehicle.setSpeed(vehicle_id, -1.0 if speed_mps is None else speed_mps)

    def departed(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """The vehicles that departed in the last step: (id, vehicle class, route edges)."""
        import libsumo

        v = libsumo.vehicle
        return [
            (str(k), str(v.getVehicleClass(k)), tuple(v.getRoute(k)))
            for k in libsumo.simulation.getDepartedIDList()
        ]

    def arrived(self) -> list[str]:
        """The vehicles that arrived (left the net) in the last step."""
        import libsumo

        return [str(k) for k in libsumo.simulation.getArrivedIDList()]

    def signal_links(self, junction: str) -> list[SignalLink]:
        """The links of every traffic light whose incoming lane ends at ``junction`` (none for a
        junction without signals)."""
        import libsumo

        out = []
        for tls in libsumo.trafficlight.getIDList():
            for index, links in enumerate(libsumo.trafficlight.getControlledLinks(tls)):
                if not links:
                    continue
                in_lane = links[0][0]
                edge = libsumo.lane.getEdgeID(in_lane)
                if libsumo.edge.getToJunction(edge) != junction:
                    continue
                shape = libsumo.lane.getShape(in_lane)
                (x0, y0), (x1, y1) = shape[-2], shape[-1]
                norm = float(np.hypot(x1 - x0, y1 - y0)) or 1.0
                out.append(SignalLink(tls, index, in_lane, ((x1 - x0) / norm, (y1 - y0) / norm)))
        return out

    def signal_program(self, tls_id: str) -> SignalProgram:
        """The traffic light ``tls_id`` now (see ``SignalProgram``)."""
        import libsumo

        tl = libsumo.trafficlight
        program = tl.getProgram(tls_id)
        phases: tuple[tuple[float, str], ...] = ()
        for logic in tl.getAllProgramLogics(tls_id):
            if logic.programID == program:
                phases = tuple((float(p.duration), str(p.state)) for p in logic.phases)
        return SignalProgram(
            str(tl.getRedYellowGreenState(tls_id)),
            float(tl.getNextSwitch(tls_id)),
            phases,
            int(tl.getPhase(tls_id)),
        )
