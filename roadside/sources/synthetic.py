"""Synthetic traffic through a four-arm intersection: the RSU's built-in demo source.

Vehicles drive straight through along the two roads (x axis east-west, y axis north-south) on
their own lanes, cyclists and pedestrians move along the kerbs, each wrapping round at the end of
its arm. Positions are a pure function of time, so the same seed and time always give the same
objects; tracks ids are stable for the life of the source.
"""

from __future__ import annotations

import numpy as np

from roadside.sources.base import FrameSource, Snapshot
from vicoop.model import (
    NS_PER_S,
    DetectedObject,
    ObjectClass,
    SensorHealth,
    SensorKind,
    SensorStatus,
    Size3,
    Vec3,
)

# class, share of objects, speed range m/s, size (length, width, height) m, lateral offset m
_KINDS = (
    (ObjectClass.CAR, 0.55, (8.0, 14.0), (4.5, 1.8, 1.5), 1.75),
    (ObjectClass.VAN, 0.10, (7.0, 12.0), (5.5, 2.0, 2.3), 1.75),
    (ObjectClass.TRUCK, 0.07, (6.0, 10.0), (10.0, 2.5, 3.5), 5.25),
    (ObjectClass.BUS, 0.05, (6.0, 10.0), (12.0, 2.55, 3.2), 5.25),
    (ObjectClass.BICYCLE, 0.10, (3.0, 6.0), (1.8, 0.6, 1.7), 7.5),
    (ObjectClass.PEDESTRIAN, 0.13, (1.0, 1.6), (0.5, 0.5, 1.75), 9.0),
)
_SENSOR = SensorStatus("synthetic", SensorKind.SYNTHETIC, SensorHealth.OK)
_COVARIANCE = (0.04, 0.0, 0.0, 0.04, 0.0, 0.01)


class SyntheticTraffic(FrameSource):
    """``count`` road users on a crossroads centred on the ENU origin; arms ``arm_length_m`` long."""

    def __init__(self, count: int, seed: int = 1, arm_length_m: float = 100.0) -> None:
        rng = np.random.default_rng(seed)
        shares = np.array([k[1] for k in _KINDS])
        kind = rng.choice(len(_KINDS), size=count, p=shares / shares.sum())
        self._classes = [_KINDS[k][0] for k in kind]
        self._sizes = [Size3(*_KINDS[k][3]) for k in kind]
        low = np.array([_KINDS[k][2][0] for k in kind])
        high = np.array([_KINDS[k][2][1] for k in kind])
        self._speed = rng.uniform(low, high)
        # Travel direction: 0 east, 1 north, 2 west, 3 south; drive on the right.
        direction = rng.integers(0, 4, size=count)
        angle = direction * (np.pi / 2)
        self._unit = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        right = np.stack([np.sin(angle), -np.cos(angle)], axis=1)
        offset = np.array([_KINDS[k][4] for k in kind])
        self._lane = right * offset[:, None]
        self._heading = np.arctan2(self._unit[:, 1], self._unit[:, 0])
        self._length = 2.0 * arm_length_m
        self._phase = rng.uniform(0.0, self._length, size=count)
        self._heights = np.array([s.height_m / 2 for s in self._sizes])
        self._ids = np.arange(1, count + 1, dtype=np.int64)

    def positions_at(self, now_ns: int) -> np.ndarray:
        """(M, 3) positions in metres, ENU; vectorised over every object."""
        t = now_ns / NS_PER_S
        s = np.mod(self._phase + self._speed * t, self._length) - self._length / 2
        xy = self._lane + self._unit * s[:, None]
        return np.column_stack([xy, self._heights])

    def snapshot(self, now_ns: int) -> Snapshot:
        positions = self.positions_at(now_ns).tolist()
        velocities = (self._unit * self._speed[:, None]).tolist()
        objects = tuple(
            DetectedObject(
                track_id=int(self._ids[i]),
                object_class=self._classes[i],
                class_confidence=0.9,
                position=Vec3(*positions[i]),
                velocity=Vec3(velocities[i][0], velocities[i][1], 0.0),
                heading_rad=float(self._heading[i]),
                size=self._sizes[i],
                position_covariance=_COVARIANCE,
                existence_probability=0.99,
                valid_at_ns=now_ns,
                sensor_ids=("synthetic",),
            )
            for i in range(len(positions))
        )
        return Snapshot(
            objects, (SensorStatus(_SENSOR.sensor_id, _SENSOR.kind, _SENSOR.health, now_ns),)
        )
