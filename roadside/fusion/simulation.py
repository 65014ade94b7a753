"""Generated traffic through an intersection, with ground truth, and simulated sensors.

For the tracking and fusion benchmarks (and tests): vehicles arrive on four arms, go straight or
turn left or right on circular arcs, slowing for turns; cyclists ride along the kerb and
pedestrians cross on the crosswalks. A radar (polar noise, missed detections, clutter, radial
speed) and a camera (3-D boxes projected through the calibrated, distorted camera; pixel noise,
misses, class confusion) see them from a pole at one corner. Everything is seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from roadside.calibration.camera import camera_matrix, camera_rotation
from roadside.fusion.base import CLASS_SIZES, FloatArray
from roadside.ingest.base import CameraFrame, RadarCycle
from roadside.sources.fused_config import CameraSensorConfig, RadarSensorConfig
from vicoop.model import NS_PER_S, ObjectClass

ARM_M = 100.0
LANE_M = 1.75
_VEHICLES = (
    (ObjectClass.CAR, 0.7),
    (ObjectClass.VAN, 0.12),
    (ObjectClass.TRUCK, 0.1),
    (ObjectClass.BUS, 0.08),
)


@dataclass
class Truth:
    """Ground truth at one instant: ids (N,), positions (N, 2) m, velocities (N, 2) m/s,
    headings (N,) rad, classes (N,) ``ObjectClass`` values, sizes (N, 3) m."""

    t_ns: int
    ids: np.ndarray
    positions: FloatArray
    velocities: FloatArray
    headings: FloatArray
    classes: np.ndarray
    sizes: FloatArray


@dataclass
class _Agent:
    id: int
    cls: ObjectClass
    pos: FloatArray
    heading: float
    speed: float
    cruise: float
    turn: int = 0  # +1 left, -1 right, 0 straight
    turned: float = 0.0
    radius: float = 10.0
    size: tuple[float, float, float] = (4.5, 1.8, 1.5)
    path_s: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


class IntersectionTraffic:
    """Traffic through a four-arm crossroads centred on the ENU origin; ``vehicles_per_min``
    arrive per arm, plus cyclists and pedestrians."""

    def __init__(
        self,
        seed: int = 1,
        vehicles_per_min: float = 6.0,
        vulnerable_per_min: float = 2.0,
        start_ns: int = 1_700_000_000 * NS_PER_S,
        dt_s: float = 0.05,
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.rate_v = vehicles_per_min / 60.0
        self.rate_u = vulnerable_per_min / 60.0
        self.t_ns = start_ns
        self.dt_s = dt_s
        self.agents: list[_Agent] = []
        self._next = 1
        # Start with traffic already flowing.
        for _ in range(int(30.0 / dt_s)):
            self._advance()

    def _spawn(self) -> None:
        rng = self.rng
        for arm in range(4):
            if rng.random() < self.rate_v * self.dt_s:
                heading = arm * math.pi / 2 + math.pi  # arm 0 east of the centre drives west, ...
                d = np.array([math.cos(heading), math.sin(heading)])
                right = np.array([d[1], -d[0]])
                pos = -d * ARM_M + right * LANE_M
                if any(np.hypot(*(a.pos - pos)) < 12.0 for a in self.agents):
                    continue
                cls = _VEHICLES[rng.choice(len(_VEHICLES), p=[p for _, p in _VEHICLES])][0]
                cruise = rng.uniform(9.0, 14.0)
                turn = int(rng.choice([0, 1, -1], p=[0.5, 0.25, 0.25]))
                radius = 3.0 * LANE_M + 2.0 if turn == 1 else 2.0 * LANE_M + 0.0
                radius = {1: 9.0, -1: 7.0, 0: 0.0}[turn]
                self.agents.append(
                    _Agent(
                        self._next,
                        cls,
                        pos,
                        heading,
                        cruise,
                        cruise,
                        turn,
                        0.0,
                        radius,
                        CLASS_SIZES[cls],
                    )
                )
                self._next += 1
            if rng.random() < self.rate_u * self.dt_s:
                kind = ObjectClass.BICYCLE if rng.random() < 0.5 else ObjectClass.PEDESTRIAN
                heading = arm * math.pi / 2 + math.pi
                d = np.array([math.cos(heading), math.sin(heading)])
                right = np.array([d[1], -d[0]])
                if kind == ObjectClass.BICYCLE:
                    pos = -d * ARM_M + right * (LANE_M * 2 + 1.0)
                    speed = rng.uniform(4.0, 6.5)
                else:  # crosses the arm on its crosswalk, 12 m from the centre
                    pos = -d * 12.0 + right * 9.0 - d * 0.0
                    heading = heading - math.pi / 2
                    speed = rng.uniform(1.1, 1.6)
                self.agents.append(
                    _Agent(
                        self._next, kind, pos, heading, speed, speed, 0, 0.0, 0.0, CLASS_SIZES[kind]
                    )
                )
                self._next += 1

    def _advance(self) -> None:
        dt = self.dt_s
        keep = []
        for a in self.agents:
            if a.turn and a.turned < math.pi / 2:
                dist_to_centre = float(np.hypot(*a.pos))
                target = min(a.cruise, 6.0 if a.turn == -1 else 7.5)
                if dist_to_centre < 40.0:
                    a.speed = max(target, a.speed - 2.0 * dt)
                start = a.radius if a.turn == -1 else 2 * LANE_M + 2.0
                # Start the arc where the approach lane meets the turn circle.
                along = float(np.dot(a.pos, [math.cos(a.heading), math.sin(a.heading)]))
                if along > -start - 0.5 and along < 30.0:
                    w = a.turn * a.speed / a.radius
                    a.heading += w * dt
                    a.turned += abs(w * dt)
                    a.extra["w"] = w
                else:
                    a.extra["w"] = 0.0
            else:
                a.extra["w"] = 0.0
                a.speed = min(a.cruise, a.speed + 1.5 * dt)
            a.pos = a.pos + a.speed * dt * np.array([math.cos(a.heading), math.sin(a.heading)])
            if np.hypot(*a.pos) < ARM_M + 5.0 and (
                a.cls != ObjectClass.PEDESTRIAN or np.hypot(*a.pos) < 25.0
            ):
                keep.append(a)
        self.agents = keep
        self._spawn()
        self.t_ns += round(dt * NS_PER_S)

    def step(self) -> Truth:
        """Advance by ``dt_s`` and return the ground truth then."""
        self._advance()
        return self.truth()

    def truth(self) -> Truth:
        n = len(self.agents)
        return Truth(
            self.t_ns,
            np.array([a.id for a in self.agents], dtype=np.int64),
            np.array([a.pos for a in self.agents]).reshape(n, 2),
            np.array(
                [
                    [a.speed * math.cos(a.heading), a.speed * math.sin(a.heading)]
                    for a in self.agents
                ]
            ).reshape(n, 2),
            np.array([a.heading for a in self.agents]),
            np.array([int(a.cls) for a in self.agents], dtype=np.int64),
            np.array([a.size for a in self.agents]).reshape(n, 3),
        )


class RadarSimulator:
    """A radar's object list from ground truth: reflection point spread over the footprint, polar
    noise, detection probability by class, Poisson clutter over the field of view."""

    def __init__(
        self,
        config: RadarSensorConfig,
        seed: int = 2,
        p_detect: float = 0.9,
        p_detect_vulnerable: float = 0.7,
        clutter_per_scan: float = 4.0,
    ) -> None:
        self.config = config
        self.rng = np.random.default_rng(seed)
        self.p_detect = p_detect
        self.p_detect_vulnerable = p_detect_vulnerable
        self.clutter = clutter_per_scan
        self.cycle = 0

    def measure(self, truth: Truth) -> RadarCycle:
        c, rng = self.config, self.rng
        m, n = c.mounting, c.noise
        pos = truth.positions.copy()
        # The reflection point: somewhere on the object's footprint, nearer the radar.
        u = np.column_stack([np.cos(truth.headings), np.sin(truth.headings)])
        lat = np.column_stack([-u[:, 1], u[:, 0]])
        pos += u * (rng.uniform(-0.25, 0.25, len(pos)) * truth.sizes[:, 0])[:, None]
        pos += lat * (rng.uniform(-0.25, 0.25, len(pos)) * truth.sizes[:, 1])[:, None]
        d = pos - [m.x_m, m.y_m]
        ground = np.hypot(d[:, 0], d[:, 1])
        az = np.angle(np.exp(1j * (np.arctan2(d[:, 1], d[:, 0]) - m.yaw_rad)))
        vr = np.einsum("ij,ij->i", truth.velocities, d) / np.maximum(ground, 1e-6)
        vulnerable = np.isin(truth.classes, [int(ObjectClass.PEDESTRIAN), int(ObjectClass.BICYCLE)])
        pd = np.where(vulnerable, self.p_detect_vulnerable, self.p_detect)
        seen = (
            (np.abs(az) <= c.half_fov_rad) & (ground <= c.max_range_m) & (rng.random(len(pos)) < pd)
        )
        k = int(seen.sum())
        rng_m = np.hypot(ground[seen], m.z_m) + rng.normal(0, n.range_sigma_m, k)
        az_m = az[seen] + rng.normal(0, n.azimuth_sigma_rad, k)
        vr_m = vr[seen] + rng.normal(0, n.radial_speed_sigma_mps, k)
        nc = rng.poisson(self.clutter)
        cr = rng.uniform(5.0, c.max_range_m, nc)
        ca = rng.uniform(-c.half_fov_rad, c.half_fov_rad, nc)
        cv = rng.normal(0, 1.0, nc)
        ranges = np.concatenate([rng_m, cr])
        order = rng.permutation(len(ranges))
        self.cycle += 1
        return RadarCycle(
            c.sensor_id,
            self.cycle,
            truth.t_ns,
            ranges[order],
            np.concatenate([az_m, ca])[order],
            np.concatenate([vr_m, cv])[order],
            np.zeros(len(ranges)),
            np.zeros(len(ranges), dtype=np.int64),
        )


class CameraSimulator:
    """A camera's detections from ground truth: each object's 3-D box projected through the
    calibrated, distorted camera, its 2-D bounding box with pixel noise on every edge, misses,
    and the class right with probability ``p_class``."""

    def __init__(
        self, config: CameraSensorConfig, seed: int = 3, p_detect: float = 0.9, p_class: float = 0.9
    ) -> None:
        self.config = config
        cal = config.calibration
        assert cal.extrinsics is not None, "the camera simulator needs extrinsics"
        e = cal.extrinsics
        r_cw = camera_rotation(e).T
        self.rvec = cv2.Rodrigues(r_cw)[0]
        self.tvec = -r_cw @ np.array([e.x_m, e.y_m, e.z_m])
        self.r_cw = r_cw
        self.centre = np.array([e.x_m, e.y_m, e.z_m])
        self.k = camera_matrix(cal)
        self.dist = np.array(cal.distortion)
        self.rng = np.random.default_rng(seed)
        self.p_detect = p_detect
        self.p_class = p_class
        self.frame = 0

    def measure(self, truth: Truth) -> CameraFrame:
        rng, cal = self.rng, self.config.calibration
        n = len(truth.ids)
        u = np.column_stack([np.cos(truth.headings), np.sin(truth.headings)])
        lat = np.column_stack([-u[:, 1], u[:, 0]])
        corners = []
        for sl in (-0.5, 0.5):
            for sw in (-0.5, 0.5):
                for h in (0.0, 1.0):
                    xy = (
                        truth.positions
                        + u * (sl * truth.sizes[:, :1])
                        + lat * (sw * truth.sizes[:, 1:2])
                    )
                    corners.append(np.column_stack([xy, h * truth.sizes[:, 2]]))
        pts = np.stack(corners, axis=1).reshape(-1, 3)
        depth = ((pts - self.centre) @ self.r_cw.T)[:, 2].reshape(n, 8)
        px = (
            cv2.projectPoints(pts, self.rvec, self.tvec, self.k, self.dist)[0].reshape(n, 8, 2)
            if n
            else np.zeros((0, 8, 2))
        )
        boxes = np.concatenate([px.min(axis=1), px.max(axis=1)], axis=1)
        w, h = cal.intrinsics.width_px, cal.intrinsics.height_px
        ground_d = np.hypot(*(truth.positions - self.centre[:2]).T)
        visible = (
            (depth.min(axis=1) > 1.0)
            & (boxes[:, 0] >= 0)
            & (boxes[:, 2] <= w)
            & (boxes[:, 1] >= 0)
            & (boxes[:, 3] <= h)
            & (ground_d <= self.config.max_range_m)
        )
        seen = visible & (rng.random(n) < self.p_detect)
        b = boxes[seen] + rng.normal(0, cal.pixel_sigma_px, (int(seen.sum()), 4))
        b[:, 2] = np.maximum(b[:, 2], b[:, 0] + 1)
        b[:, 3] = np.maximum(b[:, 3], b[:, 1] + 1)
        classes = truth.classes[seen].copy()
        wrong = rng.random(len(classes)) >= self.p_class
        classes[wrong] = rng.choice(
            [
                int(c)
                for c in (
                    ObjectClass.CAR,
                    ObjectClass.VAN,
                    ObjectClass.TRUCK,
                    ObjectClass.PEDESTRIAN,
                    ObjectClass.BICYCLE,
                )
            ],
            int(wrong.sum()),
        )
        self.frame += 1
        return CameraFrame(
            self.config.sensor_id,
            self.frame,
            truth.t_ns,
            b,
            classes,
            rng.uniform(0.6, 0.95, len(classes)),
        )
