"""The evaluation's fast path to what an RSU's tracks would be: SUMO's road users around a site
through the rig's sensor models' degradations, without running the RSU's fusion.

Per evaluation step (SUMO's step, 1 s in the city scenarios) and RSU, from the ground truth
around its junction (``hil.sumo.SumoSim.road_users``, the site's ENU frame):

- coverage: each of the site's radars and cameras (``hil.site``: their poses, fields of view,
  reach) sees a road user where ``hil.sensors.radar.radar_visible`` / ``CameraModel.visible``
  say so (inside the field of view and reach, not hidden behind nearer road users);
- detection probability: per sensor cycle the radar's (``detection_probability``: falling with
  range) and the camera's (``p_detect`` scaled by the box's height); over the step each sensor
  runs ``rate_hz * step`` cycles, and a road user is detected in the step when any cycle of any
  sensor detects it;
- tracks: a detected road user has a track, which coasts ``coast_s`` after its last detection
  (the tracker's coasting) and is dropped after that;
- noise: each track's position (m, per axis) and velocity (m/s, per axis) get Gaussian errors of
  the configured size (``TrackErrors``);
- latency: the RSU publishes a frame ``latency_s`` after the instant it describes (the sensors'
  own latencies, fusion and the cloud link); the evaluation hands the coordinator the measures
  of the latest frame that has reached the twin (``DelayLine``).

Simplification versus the full stack (``--stack``): no fusion or tracker runs, so there are no
false tracks from clutter or false positives, no track breaks or id switches, no class errors
and no association errors; a track exists exactly while its road user is detectable. What
reaches the coordinator still lacks what the sensors cannot see (occluded cars in a long queue,
cars beyond reach), is noisy and late.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from hil.sensors.camera import CameraModel, size_factor
from hil.sensors.config import CameraSimConfig, RadarSimConfig
from hil.sensors.radar import detection_probability, radar_visible
from hil.site import SiteRsu
from hil.truth import FloatArray, GroundTruth
from roadside.sources.fused_config import SensorsSourceConfig
from vicoop.model import (
    DetectedObject,
    GeodeticOrigin,
    ObjectClass,
    PerceptionFrame,
    Size3,
    Vec3,
)

__all__ = ["DelayLine", "RsuView", "TrackErrors"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TrackErrors:
    """Typical errors of an RSU's fused tracks: position (m) and velocity (m/s) standard
    deviations per axis, how long a track coasts without detection (s), and the frame's age
    when it reaches the twin (s)."""

    position_sigma_m: float = 0.5
    velocity_sigma_mps: float = 0.5
    coast_s: float = 1.0
    latency_s: float = 0.3


@dataclass
class RsuView:
    """One RSU's tracks from the ground truth around its junction (see the module)."""

    site_rsu: SiteRsu
    step_s: float
    rng: np.random.Generator
    errors: TrackErrors = TrackErrors()
    _last_seen_ns: dict[int, int] = field(default_factory=dict)
    _sequence: int = 0

    def __post_init__(self) -> None:
        source = self.site_rsu.rsu.source
        assert isinstance(source, SensorsSourceConfig)  # a site's RSU: checked when loaded
        self.radars = [
            (r, self.site_rsu.radars.get(r.sensor_id, RadarSimConfig())) for r in source.radars
        ]
        self.cameras = [
            (CameraModel(c), self.site_rsu.cameras.get(c.sensor_id, CameraSimConfig()))
            for c in source.cameras
        ]
        self.origin: GeodeticOrigin = self.site_rsu.rsu.origin.to_model()

    def miss_probability(self, truth: GroundTruth) -> FloatArray:
        """(N,) probability that no cycle of any sensor detects each road user in one step."""
        miss = np.ones(len(truth))
        for sensor, sim in self.radars:
            m = sensor.mounting
            ground = np.hypot(truth.positions[:, 0] - m.x_m, truth.positions[:, 1] - m.y_m)
            pd = detection_probability(ground, truth.classes, sensor, sim)
            pd = np.where(radar_visible(truth, sensor, sim), pd, 0.0)
            miss *= (1.0 - pd) ** max(1.0, sim.rate_hz * self.step_s)
        for model, csim in self.cameras:
            visible, boxes = model.visible(truth, csim)
            pd = csim.p_detect * size_factor(boxes[:, 3] - boxes[:, 1], csim.min_box_height_px)
            pd = np.where(visible, pd, 0.0)
            miss *= (1.0 - pd) ** max(1.0, csim.rate_hz * self.step_s)
        return miss

    def observe(self, truth: GroundTruth) -> PerceptionFrame:
        """The frame the RSU would publish for ``truth.t_ns`` (see the module)."""
        n = len(truth)
        now = truth.t_ns
        if n:
            detected = self.rng.random(n) >= self.miss_probability(truth)
            for i in truth.ids[detected]:
                self._last_seen_ns[int(i)] = now
        coast_ns = round(self.errors.coast_s * 1e9)
        self._last_seen_ns = {k: t for k, t in self._last_seen_ns.items() if now - t <= coast_ns}
        tracked = np.array([int(i) in self._last_seen_ns for i in truth.ids], dtype=bool)
        k = int(tracked.sum())
        pos = truth.positions[tracked] + self.rng.normal(0.0, self.errors.position_sigma_m, (k, 2))
        vel = truth.velocities[tracked] + self.rng.normal(
            0.0, self.errors.velocity_sigma_mps, (k, 2)
        )
        sizes = truth.sizes[tracked]
        objects = tuple(
            DetectedObject(
                track_id=int(tid),
                object_class=ObjectClass(int(c)),
                class_confidence=0.9,
                position=Vec3(float(p[0]), float(p[1]), float(s[2]) / 2),
                velocity=Vec3(float(v[0]), float(v[1]), 0.0),
                heading_rad=float(math.atan2(v[1], v[0])),
                size=Size3(float(s[0]), float(s[1]), float(s[2])),
                position_covariance=(
                    self.errors.position_sigma_m**2,
                    0.0,
                    0.0,
                    self.errors.position_sigma_m**2,
                    0.0,
                    0.01,
                ),
                existence_probability=0.9,
                valid_at_ns=now,
            )
            for tid, c, p, v, s in zip(
                truth.ids[tracked], truth.classes[tracked], pos, vel, sizes, strict=True
            )
        )
        self._sequence += 1
        published = now + round(self.errors.latency_s * 1e9)
        return PerceptionFrame(
            self.site_rsu.rsu.rsu_id, self._sequence, now, published, self.origin, objects
        )


class DelayLine(Generic[T]):
    """Items that become visible at their publish time: ``push(item, at_ns)``, ``latest(now_ns)``
    the newest one published by ``now_ns`` (None before the first)."""

    def __init__(self) -> None:
        self._queue: collections.deque[tuple[int, T]] = collections.deque()
        self._latest: T | None = None

    def push(self, item: T, at_ns: int) -> None:
        self._queue.append((at_ns, item))

    def latest(self, now_ns: int) -> T | None:
        while self._queue and self._queue[0][0] <= now_ns:
            self._latest = self._queue.popleft()[1]
        return self._latest
