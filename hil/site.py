"""Site files: which RSUs a scenario has, where, and with which sensors.

A site file (YAML, validated like every vicoop configuration) sits beside a scenario's
``.sumocfg``. Each RSU entry holds the RSU's own configuration (``rsu``: exactly what
``vicoop rsu run`` reads, with ``source.kind: sensors``: sensor mounts, calibration, fields of
view, tracker) and how the rig simulates each of its sensors (``radars``/``cameras`` by sensor id:
rates, latencies, detection probabilities, clutter). The rig simulates from the same sensor
configuration the RSU calibrates with, and writes the RSU's YAML from the site file, so the two
sides cannot disagree::

    sumo_config: cologne1.sumocfg
    geo_referenced: true
    rsus:
      - junction: cluster_357187_359543      # a SUMO junction id; the ENU origin is its centre
        junction_xy_m: [11796.42, 13327.95]  # its position in the net, m
        rsu: {rsu_id: ..., origin: {...}, source: {kind: sensors, radars: [...], cameras: [...]}}
        radars: {radar-1: {rate_hz: 20, latency_ms: 10, p_detect_far: 0.6, ...}}
        cameras: {camera-1: {rate_hz: 10, latency_ms: 40, ...}}

``generate_site`` writes one for any SUMO scenario: an RSU per signalised junction (or the
junctions asked for; in a net without signals, the junction where the most roads meet), with a
pole per arm of the junction on its far side, each carrying a radar and a camera looking across
the junction down that arm. Each RSU's cloud link (off until enabled, as ``vicoop demo`` does)
watches its junction as an intersection of the same id and, at a signalised junction, takes its
signal states from a controller (``cloud.signals.source: controller``): the rig sends it SUMO's
traffic lights, so the twin shows SUMO's colours. A junction without signals publishes none. Geo-referenced nets give the RSU's WGS84 origin; a net without a geo
reference is placed at a fallback origin (``fallback_origin``) with its axes taken as east and
north, and the site says so
(``geo_referenced: false``).
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import yaml
from pydantic import Field, model_validator

from hil.errors import ScenarioError
from hil.sensors.config import CameraSimConfig, RadarSimConfig
from roadside.calibration.config import (
    CameraCalibrationConfig,
    ExtrinsicsConfig,
    RadarMountingConfig,
)
from roadside.cloudlink.config import CommandKeyConfig, IntersectionConfig
from roadside.config import RsuConfig
from roadside.sources.fused_config import CameraSensorConfig, RadarSensorConfig, SensorsSourceConfig
from vicoop import config as config_io
from vicoop.config import StrictModel
from vicoop.model import GeodeticOrigin

SITE_SUFFIX = ".site.yaml"
FALLBACK_ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)


class SiteRsu(StrictModel):
    """One RSU of a site: its junction, its own configuration and how its sensors are simulated."""

    junction: str = Field(min_length=1)
    junction_xy_m: tuple[float, float]
    rsu: RsuConfig
    radars: dict[str, RadarSimConfig] = Field(default_factory=dict)
    cameras: dict[str, CameraSimConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> SiteRsu:
        source = self.rsu.source
        if not isinstance(source, SensorsSourceConfig):
            raise ValueError(
                "rsu.source.kind must be 'sensors' (the rig feeds the RSU's sensor inputs)"
            )
        radar_ids = {r.sensor_id for r in source.radars}
        camera_ids = {c.sensor_id for c in source.cameras}
        if set(self.radars) - radar_ids:
            raise ValueError(
                f"radars {sorted(set(self.radars) - radar_ids)} are not in rsu.source.radars"
            )
        if set(self.cameras) - camera_ids:
            raise ValueError(
                f"cameras {sorted(set(self.cameras) - camera_ids)} are not in rsu.source.cameras"
            )
        for r in source.radars:
            if r.input.kind != "udp":
                raise ValueError(
                    f"radar {r.sensor_id}: the rig feeds radars over UDP (input.kind: udp)"
                )
        for c in source.cameras:
            if c.input.kind != "json_udp":
                raise ValueError(
                    f"camera {c.sensor_id}: the rig feeds cameras over UDP (input.kind: json_udp)"
                )
            if c.calibration.extrinsics is None:
                raise ValueError(f"camera {c.sensor_id}: the rig needs extrinsics to simulate it")
        return self

    @property
    def sensors(self) -> SensorsSourceConfig:
        assert isinstance(self.rsu.source, SensorsSourceConfig)
        return self.rsu.source

    def radar_sim(self, sensor_id: str) -> RadarSimConfig:
        return self.radars.get(sensor_id, RadarSimConfig())

    def camera_sim(self, sensor_id: str) -> CameraSimConfig:
        return self.cameras.get(sensor_id, CameraSimConfig())


class Site(StrictModel):
    """A scenario's RSUs (see the module docstring)."""

    # The scenario's SUMO configuration, relative to the site file.
    sumo_config: str = Field(min_length=1)
    # False: the net has no geo reference, and each RSU's origin is a fallback chosen for it.
    geo_referenced: bool = True
    step_length_s: float = Field(default=0.05, gt=0, le=1)
    # Vehicles within this distance of an RSU's junction are its ground truth.
    watch_radius_m: float = Field(default=160.0, gt=0, le=2000)
    rsus: tuple[SiteRsu, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Site:
        ids = [r.rsu.rsu_id for r in self.rsus]
        if len(set(ids)) != len(ids):
            raise ValueError(f"rsu ids must be unique, got {ids}")
        return self


def load_site(path: str | Path) -> Site:
    """Read and validate a site file."""
    return config_io.load(Site, path)


def find_site(scenario: Path) -> Path | None:
    """The site file of a scenario folder or ``.sumocfg`` (``*.site.yaml`` beside it), if any."""
    folder = scenario if scenario.is_dir() else scenario.parent
    found = sorted(folder.glob(f"*{SITE_SUFFIX}"))
    if scenario.is_file():
        own = scenario.with_name(scenario.name.removesuffix(".sumocfg") + SITE_SUFFIX)
        if own.exists():
            return own
    return found[0] if found else None


def find_sumocfg(scenario: Path) -> Path:
    """The ``.sumocfg`` of a scenario folder (or the file itself)."""
    if scenario.is_file():
        return scenario
    configs = sorted(scenario.glob("*.sumocfg"))
    if not configs:
        raise ScenarioError(f"{scenario}: no .sumocfg in the scenario folder")
    if len(configs) > 1:
        raise ScenarioError(
            f"{scenario}: several .sumocfg files; name one: {[c.name for c in configs]}"
        )
    return configs[0]


def dump_site(site: Site, path: Path) -> None:
    """Write ``site`` as YAML."""
    text = "# vicoop HIL site file (see hil/site.py)\n" + yaml.safe_dump(
        site.model_dump(mode="json"), sort_keys=False
    )
    path.write_text(text, encoding="utf-8")


def with_fixed_ports(site: Site, base_port: int, server_port: int = 50051) -> Site:
    """``site`` with every sensor input (and signal controller input) on its own UDP port from
    ``base_port`` up and every RSU's server on ``server_port`` up: what an RSU on another box needs (``vicoop hil run --rsu``)."""
    port = base_port
    rsus = []
    for i, entry in enumerate(site.rsus):
        src = entry.sensors
        radars, cameras = [], []
        for r in src.radars:
            radars.append(
                r.model_copy(
                    update={"input": r.input.model_copy(update={"port": port, "host": "0.0.0.0"})}
                )
            )
            port += 1
        for c in src.cameras:
            cameras.append(
                c.model_copy(
                    update={"input": c.input.model_copy(update={"port": port, "host": "0.0.0.0"})}
                )
            )
            port += 1
        cloud = entry.rsu.cloud
        if cloud.signals.source == "controller":
            signals = cloud.signals.model_copy(update={"port": port, "host": "0.0.0.0"})
            cloud = cloud.model_copy(update={"signals": signals})
            port += 1
        rsu = entry.rsu.model_copy(
            update={
                "source": src.model_copy(
                    update={"radars": tuple(radars), "cameras": tuple(cameras)}
                ),
                "server": entry.rsu.server.model_copy(
                    update={"port": server_port + i, "host": "0.0.0.0"}
                ),
                "cloud": cloud,
            }
        )
        rsus.append(entry.model_copy(update={"rsu": rsu}))
    return site.model_copy(update={"rsus": tuple(rsus)})


def intersection_id(junction: str) -> str:
    """A SUMO junction id as an intersection id (1-64 of ``A-Z a-z 0-9 _ . : -``)."""
    return re.sub(r"[^A-Za-z0-9_.:-]+", "-", junction)[:64].strip("-") or "junction"


def with_cloud_link(
    site: Site,
    mqtt_url: str,
    workdir: Path,
    status_interval_s: float = 2.0,
    command_key: Path | None = None,
) -> Site:
    """``site`` with each RSU's cloud link on, to the broker ``mqtt_url`` (outboxes in
    ``workdir``), trusting the twin's command-signing public key ``command_key`` (PEM, key id
    ``twin-1``); the intersections and signal source of each stay as the site file gives them
    (a site file that names no intersections: the RSU's junction)."""
    rsus = []
    for r in site.rsus:
        cloud = r.rsu.cloud
        update: dict[str, object] = {
            "enabled": True,
            "mqtt_url": mqtt_url,
            "outbox_path": str(workdir / f"{r.rsu.rsu_id}-outbox.sqlite3"),
            "status_interval_s": status_interval_s,
        }
        if command_key is not None:
            update["command_keys"] = (
                CommandKeyConfig(key_id="twin-1", public_key_file=command_key),
            )
        if "intersections" not in cloud.model_fields_set:
            # The RSU's ENU origin is its junction's centre.
            update["intersections"] = (
                IntersectionConfig(intersection_id=intersection_id(r.junction)),
            )
        rsu = r.rsu.model_copy(update={"cloud": cloud.model_copy(update=update)})
        rsus.append(r.model_copy(update={"rsu": rsu}))
    return site.model_copy(update={"rsus": tuple(rsus)})


def rsu_yaml(config: RsuConfig) -> str:
    """An RSU configuration as the YAML ``vicoop rsu run --config`` reads."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


# -- generation -------------------------------------------------------------------------------


def road_bearings(
    junction_xy: tuple[float, float], shapes: list[list[tuple[float, float]]], reach_m: float = 25.0
) -> list[float]:
    """Bearings (rad, counter-clockwise from the net's x axis) of the roads at a junction: for
    each edge shape touching it, the direction to the point ``reach_m`` along it."""
    out = []
    jx, jy = junction_xy
    for shape in shapes:
        if len(shape) < 2:
            continue
        near_start = math.dist(shape[0], junction_xy) <= math.dist(shape[-1], junction_xy)
        pts = shape if near_start else shape[::-1]
        walked, target = 0.0, pts[-1]
        for a, b in itertools.pairwise(pts):
            seg = math.dist(a, b)
            if walked + seg >= reach_m:
                f = (reach_m - walked) / seg
                target = (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
                break
            walked += seg
        out.append(math.atan2(target[1] - jy, target[0] - jx))
    return out


def arm_bearings(
    roads: list[float], merge_rad: float = math.radians(35.0), most: int = 4
) -> list[float]:
    """The junction's arms: road bearings (rad) within ``merge_rad`` of each other are one arm
    (a street's incoming and outgoing edges), each given by their circular mean; at most
    ``most`` arms, those with the most edges."""
    arms: list[list[float]] = []
    for b in sorted(roads):
        for arm in arms:
            mean = math.atan2(sum(math.sin(a) for a in arm), sum(math.cos(a) for a in arm))
            if abs(math.atan2(math.sin(b - mean), math.cos(b - mean))) <= merge_rad:
                arm.append(b)
                break
        else:
            arms.append([b])
    arms = sorted(arms, key=len, reverse=True)[:most]
    return sorted(
        math.atan2(sum(math.sin(a) for a in arm), sum(math.cos(a) for a in arm)) for arm in arms
    )


def poles_for(
    arms: list[float], setback_m: float, aim_m: float = 40.0, lateral_m: float = 6.0
) -> list[tuple[float, float, float]]:
    """One pole per arm, on the far side of the junction, looking across it down the arm:
    (x, y, yaw) in the junction's frame (m, m, rad). No arms: two poles on a diagonal."""
    if not arms:
        arms = [math.radians(45.0), math.radians(225.0)]
    out = []
    for b in arms:
        back = b + math.pi
        x = setback_m * math.cos(back) + lateral_m * math.cos(back - math.pi / 2)
        y = setback_m * math.sin(back) + lateral_m * math.sin(back - math.pi / 2)
        tx, ty = aim_m * math.cos(b), aim_m * math.sin(b)
        out.append((x, y, math.atan2(ty - y, tx - x)))
    return out


def sensors_for(poles: list[tuple[float, float, float]]) -> SensorsSourceConfig:
    """A radar (5 m up) and a camera (8 m up) on each pole (x, y, yaw), looking along yaw."""
    radars, cameras = [], []
    for i, (x, y, yaw) in enumerate(poles, start=1):
        radars.append(
            RadarSensorConfig(
                sensor_id=f"radar-{i}",
                mounting=RadarMountingConfig(
                    x_m=round(x, 3), y_m=round(y, 3), z_m=5.0, yaw_rad=round(yaw, 5)
                ),
                half_fov_rad=round(math.radians(60), 5),
                max_range_m=150.0,
            )
        )
        cameras.append(
            CameraSensorConfig(
                sensor_id=f"camera-{i}",
                calibration=CameraCalibrationConfig(
                    extrinsics=ExtrinsicsConfig(
                        x_m=round(x, 3),
                        y_m=round(y, 3),
                        z_m=8.0,
                        yaw_rad=round(yaw, 5),
                        pitch_rad=0.22,
                    )
                ),
                max_range_m=90.0,
            )
        )
    return SensorsSourceConfig(radars=tuple(radars), cameras=tuple(cameras))


def _rsu_id(prefix: str, junction: str) -> str:
    return (re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{prefix}-{junction}")[:64]).strip("-") or "rsu"


def generate_site(
    sumocfg: Path,
    junctions: list[str] | None = None,
    fallback_origin: GeodeticOrigin = FALLBACK_ORIGIN,
    site_path: Path | None = None,
) -> Site:
    """A site for ``sumocfg``: an RSU per signalised junction, or per junction in ``junctions``.

    ``site_path`` is where the site file will be written (``sumo_config`` is made relative to it).
    """
    import sumolib

    from hil.sumo import SumoSim, net_file

    net_path = net_file(sumocfg)
    try:
        net = sumolib.net.readNet(str(net_path), withPrograms=False)
    except Exception as exc:
        raise ScenarioError(f"{net_path}: not a readable SUMO network: {exc}") from None
    signalised: set[str] = set()
    main_nodes: list[str] = []
    for tls in net.getTrafficLights():
        nodes = [c[0].getEdge().getToNode().getID() for c in tls.getConnections()]
        signalised.update(nodes)
        if nodes:
            node = max(set(nodes), key=nodes.count)
            if node not in main_nodes:
                main_nodes.append(node)
    if junctions is None:
        junctions = list(main_nodes)
        if not junctions:
            # No signals at all: the junction where the most roads meet.
            nodes = [n for n in net.getNodes() if n.getType() != "internal"]
            if not nodes:
                raise ScenarioError(f"{net_path}: no junction to put an RSU at")
            busiest = max(nodes, key=lambda n: len(n.getIncoming()) + len(n.getOutgoing()))
            junctions.append(busiest.getID())
    geo = bool(net.hasGeoProj())
    entries = []
    sim = SumoSim(sumocfg, net_only=True) if geo else None
    if sim is not None:
        sim.start()
    try:
        for junction in junctions:
            if not net.hasNode(junction):
                raise ScenarioError(f"{net_path}: no junction {junction!r}")
            node = net.getNode(junction)
            jx, jy = (float(v) for v in node.getCoord()[:2])
            edges = list(node.getIncoming()) + list(node.getOutgoing())
            bearings = road_bearings(
                (jx, jy), [[(float(p[0]), float(p[1])) for p in e.getShape()] for e in edges]
            )
            shape = node.getShape() or [(jx, jy)]
            radius = max(math.dist((float(p[0]), float(p[1])), (jx, jy)) for p in shape)
            d = max(radius + 4.0, 10.0)
            if sim is not None:
                lon, lat = sim.to_lonlat(jx, jy)
                origin = GeodeticOrigin(round(lat, 8), round(lon, 8), fallback_origin.altitude_m)
            else:
                origin = fallback_origin
            # Bearings in the net frame; the map to ENU rotates by the grid convergence (well
            # under a degree), which the poles' placement can ignore.
            poles = poles_for(arm_bearings(bearings), d)
            rsu = RsuConfig.model_validate(
                {
                    "rsu_id": _rsu_id(sumocfg.stem, junction),
                    "origin": {
                        "latitude_deg": origin.latitude_deg,
                        "longitude_deg": origin.longitude_deg,
                        "altitude_m": origin.altitude_m,
                    },
                    "server": {"port": 0},
                    "source": sensors_for(poles).model_dump(mode="json"),
                    "cloud": {
                        "intersections": [{"intersection_id": intersection_id(junction)}],
                        # SUMO's traffic lights, sent by the rig; none at a junction without.
                        "signals": {"source": "controller" if junction in signalised else "none"},
                    },
                }
            )
            entries.append(
                SiteRsu(
                    junction=junction,
                    junction_xy_m=(jx, jy),
                    rsu=rsu,
                    radars={r.sensor_id: RadarSimConfig() for r in rsu.source.radars},  # type: ignore[union-attr]
                    cameras={c.sensor_id: CameraSimConfig() for c in rsu.source.cameras},  # type: ignore[union-attr]
                )
            )  # type: ignore[union-attr]
    finally:
        if sim is not None:
            sim.close()
    base = site_path.parent if site_path is not None else sumocfg.parent
    try:
        rel = str(sumocfg.resolve().relative_to(base.resolve()))
    except ValueError:
        rel = str(sumocfg.resolve())
    return Site(sumo_config=rel, geo_referenced=geo, rsus=tuple(entries))
