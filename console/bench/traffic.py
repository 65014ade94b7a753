"""Generated traffic through a crossroads, as ground truth for ``vicoop bench tracking``.

Vehicles arrive on four arms, go straight or turn left or right on circular arcs, slowing for
turns; cyclists ride along the kerb and pedestrians cross on the crosswalks. Seeded; the rig's
sensor models (``hil.sensors``) measure it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hil.truth import FloatArray, GroundTruth
from roadside.fusion.base import CLASS_SIZES
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
                    pos = -d * 12.0 + right * 9.0
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

    def step(self) -> GroundTruth:
        """Advance by ``dt_s`` and return the ground truth then."""
        self._advance()
        return self.truth()

    def truth(self) -> GroundTruth:
        """The road users now, in the ENU frame of the crossroads' centre."""
        n = len(self.agents)
        return GroundTruth(
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
