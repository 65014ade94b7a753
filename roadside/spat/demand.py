"""Demand per signal group from what the RSU sees, and how long an actuated green it needs.

The RSU's tracks (positions and velocities, ENU) are matched to the intersection's ingress lanes
(``arrivals``): each road user within half a lane's width (plus a margin) of a centre line,
before its stop line and not driving against it, belongs to the nearest such lane. For each
signal group, the times its users reach the lane's detection point (``detector_gap_s`` at the
lane's speed limit before the stop line, where SUMO's actuated programs put their detectors)
are the group's demand: seconds from now, negative for users already past it.

``likely_green_ns`` turns that into the length of an actuated green (SUMO's ``actuated``
gap-out): the green lasts at least its minimum, then is held while users keep reaching the
detection point less than ``max_gap_s`` apart (checked once a whole second of green, as SUMO
does), and at most its maximum. Users that reach the detection point before a future green
begins are queued and leave ``headway_s`` apart once it does; users already past it do not
hold a green. A green still on after its minimum is known to have been held until now.

Pure: numpy and shapely over all tracks at once, per lane.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from vicoop.intersection import IntersectionMap, LaneDirection

__all__ = ["GreenModel", "arrivals", "likely_green_ns"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GreenModel:
    """How an actuated green responds to traffic (SUMO's defaults): ``max_gap_s`` the longest
    gap between detections that holds the green, ``detector_gap_s`` how far (in seconds at the
    lane's speed limit) before the stop line the detection point is, ``headway_s`` between
    queued users leaving, ``crawl_mps`` the speed assumed for a user slower than it (queued or
    starting), ``default_speed_mps`` for a lane without a speed limit, ``margin_m`` beyond half
    the lane's width that still counts as on the lane."""

    max_gap_s: float = 3.0
    detector_gap_s: float = 2.0
    headway_s: float = 2.0
    crawl_mps: float = 5.0
    default_speed_mps: float = 13.89
    margin_m: float = 0.5


def arrivals(
    m: IntersectionMap,
    positions: FloatArray,
    velocities: FloatArray,
    model: GreenModel = GreenModel(),
) -> dict[int, tuple[float, ...]]:
    """Per signal group, the times (s from now, sorted) at which the road users at
    ``positions`` (N, 2) moving at ``velocities`` (N, 2) (ENU m, m/s) reach the detection point
    of the group's ingress lanes. Groups with no users map to ``()``."""
    xy = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    v = np.asarray(velocities, dtype=np.float64).reshape(-1, 2)
    groups_of: dict[int, set[int]] = {}
    for c in m.connections:
        if c.signal_group is not None:
            groups_of.setdefault(c.from_lane, set()).add(c.signal_group)
    out: dict[int, list[float]] = {g.signal_group: [] for g in m.signal_groups}
    lanes = [lane for lane in m.lanes if lane.direction is LaneDirection.INGRESS]
    lanes = [lane for lane in lanes if lane.lane_id in groups_of]
    if len(xy) == 0 or not lanes:
        return {g: () for g in out}
    points = shapely.points(xy)
    speed = np.hypot(v[:, 0], v[:, 1])
    dist = np.full((len(lanes), len(xy)), np.inf)
    to_stop = np.zeros((len(lanes), len(xy)))
    along = np.zeros((len(lanes), len(xy)))
    for i, lane in enumerate(lanes):
        line = lane.line
        d = shapely.distance(line, points)
        s = shapely.line_locate_point(line, points)
        ahead = np.asarray(line.length - s)
        ex, ey = lane.end_direction
        a = v[:, 0] * ex + v[:, 1] * ey
        ok = (
            (d <= lane.width_m / 2 + model.margin_m)
            & (s > 0.0)
            & (ahead > 0.0)
            & ((speed < 0.5) | (a > 0.5 * speed))
        )
        dist[i] = np.where(ok, d, np.inf)
        to_stop[i], along[i] = ahead, a
    best = np.argmin(dist, axis=0)
    matched = np.isfinite(dist[best, np.arange(len(xy))])
    for n in np.flatnonzero(matched):
        i = int(best[n])
        lane = lanes[i]
        limit = lane.speed_limit_mps or model.default_speed_mps
        detect_m = model.detector_gap_s * limit
        speed_n = max(float(along[i, n]), model.crawl_mps)
        t = (float(to_stop[i, n]) - detect_m) / speed_n
        for g in groups_of[lane.lane_id]:
            out[g].append(t)
    return {g: tuple(sorted(ts)) for g, ts in out.items()}


def likely_green_ns(
    times_s: Sequence[float],
    start_s: float,
    min_ns: int,
    max_ns: int,
    model: GreenModel = GreenModel(),
) -> int:
    """The likely length (ns, in ``[min_ns, max_ns]``) of an actuated green that begins
    ``start_s`` from now (negative: it began that long ago and is still on) when road users
    reach its detection points at ``times_s`` (s from now, sorted; negative: already past it).

    SUMO's actuated logic: from the minimum on, the controller checks once a whole second of
    green whether some detector saw a user in the last ``max_gap_s``; the first check that
    finds none ends the green, the maximum ends it at the latest. A user that reaches the
    detection point before the green begins waits in the queue and passes ``headway_s`` after
    the one before it once the green begins; one already past it (waiting between the detector
    and the stop line) does not extend the green. A green still on after its minimum was held
    by a user the RSU may no longer see: one that passed the detection point at least
    ``detector_gap_s`` ago (else it would still be before the stop line)."""
    min_s, max_s = min_ns / 1e9, max_ns / 1e9
    passages: list[float] = []
    queued = 0
    for t in times_s:
        if 0.0 <= t < start_s:  # reaches the detection point at the red: queued there
            t = start_s + model.headway_s * queued
            queued += 1
        passages.append(t - start_s)  # from the green's start
    elapsed = -start_s
    if elapsed > min_s:  # held until now: by a user that passed before the ones seen
        passages.append(elapsed - model.detector_gap_s)
    passages.sort()
    k = max(math.ceil(min_s), math.ceil(elapsed - 1e-9))
    while k < max_s:
        recent = bisect.bisect_right(passages, k) - bisect.bisect_right(
            passages, k - model.max_gap_s
        )
        if recent == 0:
            break
        k += 1
    return min(max(round(k * 1e9), min_ns), max_ns)
