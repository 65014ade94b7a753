"""``adaptive``: our coordinator. Each running green stage is extended or ended by comparing
short-horizon predictions of the intersection's queues under a few candidate decisions.

From the RSU's per-movement measures (``MovementMeasure``): each signal group's queue ``q``
(queued vehicles on its ingress lanes) and arrival rate ``a`` (veh/s: the flow of moving
vehicles towards the stop line), and its discharge while green ``s = sat_flow * lanes``.
Candidates, once the running green stage has served its minimum green: end it now, or extend it
by each of ``extensions_s``. For each, the queues are predicted second by second over
``horizon_s`` (vertical queues: ``q <- max(0, q + a - s * green)``; a permissive green
discharges ``PERMISSIVE_SHARE`` of ``s``) with the program's stages in its order after the
running one: each clearance stage for its programmed time, each later green stage until its
predicted queue is served (between the minimum green and its programmed time). The horizon
(150 s: more than a city cycle) lets every candidate serve every group again, so the cost, the
vehicle-seconds queued over the horizon, needs no guess of what is left after it. The cheapest
candidate wins: an extension holds the stage (``HOLD``), ending it now forces it off
(``FORCE_OFF``). The stage is never held past ``max_green_s`` (and the RSU's supervisor bounds
every red by its max red whatever is asked).

Corridors (green waves): vehicles leaving an upstream neighbour towards this intersection are
already in the measures once they are on its ingress lanes (as moving vehicles, ``a``); a
neighbour's discharge farther away is not predicted here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from cloud.coordination.base import CommandIssuer, Coordinator, Observation, SiteProgram
from vicoop.signalplan import RequestKind, SignalCommand

__all__ = ["AdaptiveCoordinator", "predicted_cost"]

SAT_FLOW_PER_LANE = 0.5  # veh/s a lane discharges while green (1800 veh/h)
PERMISSIVE_SHARE = 0.4  # of it while the green is permissive (gaps in the oncoming traffic)


def predicted_cost(
    queues: npt.NDArray[np.float64],
    arrivals: npt.NDArray[np.float64],
    discharge: npt.NDArray[np.float64],
    green: npt.NDArray[np.float64],
) -> float:
    """Vehicle-seconds queued when groups (G,) with ``queues`` (veh), ``arrivals`` (veh/s) and
    ``discharge`` (veh/s while green) see the green schedule ``green`` (T, G: the share of the
    discharge each second)."""
    q = queues.astype(np.float64).copy()
    total = 0.0
    for row in green:
        q = np.maximum(0.0, q + arrivals - discharge * row)
        total += float(q.sum())
    return total


class AdaptiveCoordinator(Coordinator):
    """Rolling-horizon stage extension on predicted queues (see the module)."""

    name = "adaptive"

    def __init__(
        self,
        sites: tuple[SiteProgram, ...],
        min_green_s: float = 5.0,
        max_green_s: float = 60.0,
        horizon_s: float = 150.0,
        extensions_s: tuple[float, ...] = (2.0, 5.0, 10.0),
    ) -> None:
        super().__init__(sites)
        self.min_green_s = min_green_s
        self.max_green_s = max_green_s
        self.horizon = int(horizon_s)
        self.extensions = tuple(int(e) for e in extensions_s)
        self.issuer = CommandIssuer(self.name, window_s=4.0, renew_s=2.0)

    def _schedule(
        self,
        site: SiteProgram,
        groups: tuple[int, ...],
        position: int,
        first_s: int,
        queues: npt.NDArray[np.float64],
        arrivals: npt.NDArray[np.float64],
        discharge: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64]:
        """(T, G) share of each group's discharge per second: the running stage (at
        ``position`` in the program) ``first_s`` more seconds, then the program's stages in
        order (see the module); 1 for a protected green, ``PERMISSIVE_SHARE`` for a
        permissive one, 0 for red."""
        rows: list[npt.NDArray[np.float64]] = []
        stages = site.stages
        mask = [
            np.where(np.isin(groups, s.permissive), PERMISSIVE_SHARE, 1.0)
            * np.isin(groups, s.green_groups)
            for s in stages
        ]
        rows += [mask[position]] * first_s
        q = queues + arrivals * first_s - discharge * mask[position] * first_s
        k = position
        while len(rows) < self.horizon:
            k = (k + 1) % len(stages)
            s = stages[k]
            if not s.is_green:
                rows += [mask[k]] * max(1, round(s.duration_s))
                continue
            served = mask[k]
            need = np.max(
                np.divide(
                    np.maximum(q, 0.0), discharge * served, out=np.zeros_like(q), where=served > 0
                )
            )
            low = min(self.min_green_s, s.duration_s)
            length = max(1, round(min(max(need, low), max(s.duration_s, low))))
            rows += [served] * length
            q = np.maximum(0.0, q + arrivals * length - discharge * served * length)
        return np.array(rows[: self.horizon], dtype=np.float64).reshape(-1, len(groups))

    def decide(self, observations: Sequence[Observation], now_ns: int) -> list[SignalCommand]:
        out = []
        for obs in observations:
            site = self.sites.get(obs.intersection_id)
            if site is None or not obs.measures:
                continue
            position = next((i for i, s in enumerate(site.stages) if s.index == obs.stage), None)
            if position is None:
                continue
            stage = site.stages[position]
            if not stage.is_green:
                self.issuer.forget(obs.intersection_id)
                continue
            elapsed = obs.stage_elapsed_s
            if elapsed < self.min_green(site, stage):
                continue
            kind = self._choose(site, obs, position, elapsed)
            command = self.issuer.request(obs.intersection_id, kind, stage.index, now_ns)
            if command is not None:
                out.append(command)
        return out

    def _choose(
        self, site: SiteProgram, obs: Observation, position: int, elapsed_s: float
    ) -> RequestKind:
        groups = tuple(m.signal_group for m in obs.measures)
        lanes = dict(site.ingress_lanes)
        queues = np.array([m.queued_vehicles for m in obs.measures], dtype=np.float64)
        arrivals = np.array([m.arrivals_per_s for m in obs.measures], dtype=np.float64)
        discharge = np.array(
            [SAT_FLOW_PER_LANE * max(1, lanes.get(g, 1)) for g in groups], dtype=np.float64
        )
        best_kind, best_cost = RequestKind.FORCE_OFF, np.inf
        for extend in (0, *self.extensions):
            if extend and elapsed_s + extend > self.max_green_s:
                break
            green = self._schedule(site, groups, position, extend, queues, arrivals, discharge)
            cost = predicted_cost(queues, arrivals, discharge, green)
            if cost < best_cost - 1e-9:
                best_cost = cost
                best_kind = RequestKind.HOLD if extend else RequestKind.FORCE_OFF
        return best_kind
