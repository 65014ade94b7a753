"""Where am I on the MAP, and what does my signal do: lane matching and a lane's signal.

Pure and synchronous; positions are metres in the RSU's ENU frame (``vehicle.geo.wgs84_to_enu``
converts a GPS fix), headings rad counter-clockwise from east, as everywhere in vicoop.

- ``match_lane(m, x, y, heading)``: the ingress lane of MAP ``m`` the vehicle is on, or None.
  A lane matches when the position is within half its width (plus ``margin_m``) of its centre
  line, between the line's ends, and the heading within ``max_heading_error_rad`` of the
  lane's direction there; of several, the nearest centre line wins. ``distance_to_stop_m`` is
  measured along the lane to its end (its stop line).
- ``signal_for(m, spat, lane_id, manoeuvre)``: the SPaT events (state now, then the ones that
  follow) of the signal group that releases ``manoeuvre`` from ``lane_id``; empty when no
  connection of the lane allows it under a signal (a free turn, or a manoeuvre the lane does
  not have).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from vicoop.intersection import IntersectionMap, LaneDirection, Manoeuvre
from vicoop.spat import MovementEvent, Spat

__all__ = ["LaneMatch", "match_lane", "signal_for"]


@dataclass(frozen=True, slots=True)
class LaneMatch:
    """The ingress lane a vehicle is on: its lateral offset from the centre line (m), how far
    it is from the lane's end along the lane (m), and its heading error (rad, signed)."""

    intersection_id: str
    lane_id: int
    offset_m: float
    distance_to_stop_m: float
    heading_error_rad: float


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def match_lane(
    m: IntersectionMap,
    x_m: float,
    y_m: float,
    heading_rad: float,
    *,
    margin_m: float = 0.5,
    max_heading_error_rad: float = math.radians(45),
) -> LaneMatch | None:
    """The ingress lane of ``m`` a vehicle at (``x_m``, ``y_m``) heading ``heading_rad`` is on
    (see the module); None when it is on none."""
    lanes = [lane for lane in m.lanes if lane.direction is LaneDirection.INGRESS]
    if not lanes:
        return None
    point = shapely.Point(x_m, y_m)
    lines = np.array([lane.line for lane in lanes], dtype=object)
    offsets = shapely.distance(lines, point)
    along = shapely.line_locate_point(lines, point)
    lengths = shapely.length(lines)
    best: LaneMatch | None = None
    for k in np.argsort(offsets):
        lane = lanes[int(k)]
        offset, s, length = float(offsets[k]), float(along[k]), float(lengths[k])
        if offset > lane.width_m / 2 + margin_m:
            break  # sorted: the others are farther still
        if s <= 0.0 or s >= length:  # beyond an end: its projection is the end point
            continue
        ahead = lines[k].interpolate(min(length, s + 0.5))
        behind = lines[k].interpolate(max(0.0, s - 0.5))
        direction = math.atan2(ahead.y - behind.y, ahead.x - behind.x)
        error = _wrap(heading_rad - direction)
        if abs(error) > max_heading_error_rad:
            continue
        best = LaneMatch(m.intersection_id, lane.lane_id, offset, length - s, error)
        break
    return best


def signal_for(
    m: IntersectionMap, spat: Spat, lane_id: int, manoeuvre: Manoeuvre = Manoeuvre.STRAIGHT
) -> list[MovementEvent]:
    """The SPaT events of the signal group releasing ``manoeuvre`` from ingress lane
    ``lane_id`` (current state first), or [] when no signalised connection allows it.
    ``KeyError`` for a lane the MAP does not have; ``ValueError`` for SPaT of another
    intersection."""
    m.lane(lane_id)  # KeyError when unknown
    if spat.intersection_id != m.intersection_id:
        raise ValueError(
            f"SPaT of intersection {spat.intersection_id!r} for the MAP of {m.intersection_id!r}"
        )
    groups = [
        c.signal_group
        for c in m.connections
        if c.from_lane == lane_id and c.signal_group is not None and c.manoeuvre & manoeuvre
    ]
    if not groups:
        return []
    group = groups[0]
    return [e for e in spat.movements if e.signal_group == group]
