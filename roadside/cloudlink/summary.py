"""What an RSU tells the cloud about traffic: per-approach measures of an intersection,
per-movement measures on its MAP (what the cloud's signal coordinators use), and a fixed-time
signal plan, a stand-in for sites without a signal controller feed
(``cloud.signals.source: fixed_time``). Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from vicoop.cloudmodel import (
    ApproachMeasure,
    Intersection,
    MovementMeasure,
    SignalColour,
    SignalGroupState,
    SignalState,
)
from vicoop.intersection import IntersectionMap, LaneDirection, LaneKind
from vicoop.model import NS_PER_S, ObjectClass, PerceptionFrame

VEHICLES = np.array(
    [
        int(c)
        for c in (
            ObjectClass.CAR,
            ObjectClass.VAN,
            ObjectClass.TRUCK,
            ObjectClass.BUS,
            ObjectClass.MOTORCYCLE,
        )
    ],
    dtype=np.int64,
)
APPROACHES = ("east", "north", "west", "south")
# Vehicles slower than this (m/s) are queued.
QUEUED_BELOW_MPS = 1.0


def approach_measures(
    frame: PerceptionFrame, intersection: Intersection, reach_m: float = 100.0
) -> list[ApproachMeasure]:
    """Vehicles, queue length (m from the centre) and mean speed on each of the four approaches
    within ``reach_m`` of the intersection's centre, vectorised over the frame's objects."""
    xy = frame.positions[:, :2] - np.array([intersection.center_x_m, intersection.center_y_m])
    speeds = np.hypot(frame.velocities[:, 0], frame.velocities[:, 1])
    dist = np.hypot(xy[:, 0], xy[:, 1])
    vehicle = np.isin(frame.classes, VEHICLES) & (dist <= reach_m)
    sector = np.round(np.arctan2(xy[:, 1], xy[:, 0]) / (math.pi / 2)).astype(np.int64) % 4
    out = []
    for index, name in enumerate(APPROACHES):
        on = vehicle & (sector == index)
        queued = on & (speeds < QUEUED_BELOW_MPS)
        out.append(
            ApproachMeasure(
                intersection_id=intersection.intersection_id,
                approach=name,
                vehicle_count=int(on.sum()),
                queue_length_m=float(dist[queued].max()) if queued.any() else 0.0,
                mean_speed_mps=float(speeds[on].mean()) if on.any() else 0.0,
            )
        )
    return out


# A track belongs to a lane when its centre is within half the lane's width plus this (m).
LANE_MARGIN_M = 1.0


@dataclass(frozen=True, eq=False)
class MovementLayout:
    """An intersection map's vehicle lanes as arrays, built once per map (``of``): the lanes'
    centre lines (shapely, ENU m), lengths (m), half widths (m), whether each is an ingress
    lane, and for each signal group (``groups``) which lanes feed it (``upstream[g, lane]``)
    and which it feeds (``downstream[g, lane]``)."""

    intersection_id: str
    groups: tuple[int, ...]
    lines: npt.NDArray[np.object_]
    lengths_m: npt.NDArray[np.float64]
    half_widths_m: npt.NDArray[np.float64]
    ingress: npt.NDArray[np.bool_]
    upstream: npt.NDArray[np.bool_]
    downstream: npt.NDArray[np.bool_]

    @staticmethod
    def of(the_map: IntersectionMap) -> MovementLayout:
        lanes = [
            lane
            for lane in the_map.lanes
            if lane.kind in (LaneKind.VEHICLE, LaneKind.BUS, LaneKind.TRACKED)
        ]
        index = {lane.lane_id: k for k, lane in enumerate(lanes)}
        groups = tuple(
            sorted({c.signal_group for c in the_map.connections if c.signal_group is not None})
        )
        up = np.zeros((len(groups), len(lanes)), dtype=bool)
        down = np.zeros_like(up)
        for c in the_map.connections:
            if c.signal_group is None or c.from_lane not in index or c.to_lane not in index:
                continue
            g = groups.index(c.signal_group)
            up[g, index[c.from_lane]] = True
            down[g, index[c.to_lane]] = True
        lines = np.array([shapely.LineString(lane.centre_line) for lane in lanes], dtype=object)
        return MovementLayout(
            the_map.intersection_id,
            groups,
            lines,
            np.array([line.length for line in lines], dtype=np.float64),
            np.array([lane.width_m / 2 for lane in lanes], dtype=np.float64),
            np.array([lane.direction is LaneDirection.INGRESS for lane in lanes], dtype=bool),
            up,
            down,
        )


def lane_of(
    xy: npt.NDArray[np.float64], velocity: npt.NDArray[np.float64], layout: MovementLayout
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(M,) the lane (index into ``layout``'s lanes, -1: none) each track at ``xy`` (M, 2) ENU m
    moving at ``velocity`` (M, 2) m/s is on, and (M,) its distance along that lane's centre
    line (m). A track is on the nearest lane whose centre line it is within half the lane's
    width (+ ``LANE_MARGIN_M``) of, and whose direction there it is not driving against
    (stopped tracks match either way)."""
    m, n = xy.shape[0], layout.lines.shape[0]
    if m == 0 or n == 0:
        return np.full(m, -1, dtype=np.int64), np.zeros(m)
    points = shapely.points(xy)[:, None]
    lines = layout.lines[None, :]
    dist = shapely.distance(points, lines)
    along = shapely.line_locate_point(lines, points)
    # (A negative distance would count from the line's end: clip to the line.)
    length = layout.lengths_m[None, :]
    ahead = shapely.line_interpolate_point(lines, np.minimum(along + 0.5, length))
    behind = shapely.line_interpolate_point(lines, np.maximum(along - 0.5, 0.0))
    tangent = shapely.get_coordinates(ahead).reshape(m, n, 2) - shapely.get_coordinates(
        behind
    ).reshape(m, n, 2)
    forward = np.einsum("mnk,mk->mn", tangent, velocity) >= 0.0
    slow = np.hypot(velocity[:, 0], velocity[:, 1]) < QUEUED_BELOW_MPS
    fits = (dist <= layout.half_widths_m[None, :] + LANE_MARGIN_M) & (forward | slow[:, None])
    cost = np.where(fits, dist, np.inf)
    best = np.argmin(cost, axis=1)
    found = np.isfinite(cost[np.arange(m), best])
    lane = np.where(found, best, -1).astype(np.int64)
    return lane, np.where(found, along[np.arange(m), best], 0.0)


def movement_measures(
    frame: PerceptionFrame, the_map: IntersectionMap, layout: MovementLayout | None = None
) -> list[MovementMeasure]:
    """Per signal group of ``the_map`` (a movement: the connections it releases), from the
    frame's vehicle tracks (``vicoop.cloudmodel.MovementMeasure``): on its ingress lanes the
    vehicles, those queued (< 1 m/s), the queue's length from the stop line (m), the flow of
    moving vehicles towards the stop line (sum of speeds / lane length, veh/s: q = k v) and the
    mean speed (m/s); on its egress lanes the vehicles. A lane that feeds several groups (a
    shared straight-and-left lane) counts for each. Vectorised over the frame's tracks;
    ``layout`` (``MovementLayout.of(the_map)``) saves rebuilding the lane arrays per frame."""
    layout = layout if layout is not None else MovementLayout.of(the_map)
    vehicle = np.isin(frame.classes, VEHICLES)
    xy = frame.positions[vehicle, :2]
    vel = frame.velocities[vehicle, :2]
    lane, along = lane_of(xy, vel, layout)
    on = lane >= 0
    lane, along = lane[on], along[on]
    speed = np.hypot(vel[on, 0], vel[on, 1])
    n = layout.lines.shape[0]
    queued = speed < QUEUED_BELOW_MPS
    count = np.bincount(lane, minlength=n).astype(np.float64)
    n_queued = np.bincount(lane, weights=queued.astype(np.float64), minlength=n)
    speed_sum = np.bincount(lane, weights=speed, minlength=n)
    moving_sum = np.bincount(lane, weights=np.where(queued, 0.0, speed), minlength=n)
    to_stop = layout.lengths_m[lane] - along
    queue_m = np.zeros(n)
    np.maximum.at(queue_m, lane[queued], to_stop[queued])
    flow = np.divide(moving_sum, layout.lengths_m, out=np.zeros(n), where=layout.lengths_m > 0)
    up = layout.upstream & layout.ingress[None, :]
    down = layout.downstream & ~layout.ingress[None, :]
    vehicles_up = up @ count
    return [
        MovementMeasure(
            intersection_id=the_map.intersection_id,
            signal_group=group,
            vehicle_count=int(vehicles_up[g]),
            queued_vehicles=int(up[g] @ n_queued),
            queue_length_m=float(queue_m[up[g]].max()) if up[g].any() else 0.0,
            arrivals_per_s=float(up[g] @ flow),
            mean_speed_mps=float(up[g] @ speed_sum / vehicles_up[g]) if vehicles_up[g] else 0.0,
            downstream_vehicles=int(down[g] @ count),
        )
        for g, group in enumerate(layout.groups)
    ]


def fixed_time_signal(
    rsu_id: str, intersection_id: str, now_ns: int, cycle_s: float = 60.0
) -> SignalState:
    """A two-phase fixed-time plan: north-south green first, then east-west; 3 s amber, 2 s
    all-red, 2 s red-amber. A stand-in for sites without a controller feed: not the real lights."""
    cycle_ns = int(cycle_s * NS_PER_S)
    t = (now_ns % cycle_ns) / NS_PER_S
    half = cycle_s / 2
    groups = []
    for group, approaches, offset in (
        ("ns", ("north", "south"), 0.0),
        ("ew", ("east", "west"), half),
    ):
        local = (t - offset) % cycle_s
        green_end, amber_end = half - 5.0, half - 2.0
        if local < green_end:
            colour, change = SignalColour.GREEN, green_end
        elif local < amber_end:
            colour, change = SignalColour.AMBER, amber_end
        elif local < cycle_s - 2.0:
            colour, change = SignalColour.RED, cycle_s - 2.0
        else:
            colour, change = SignalColour.RED_AMBER, cycle_s
        next_ns = now_ns + int((change - local) * NS_PER_S)
        groups += [SignalGroupState(f"{group}-{a}", a, colour, next_ns) for a in approaches]
    return SignalState(rsu_id, intersection_id, now_ns, tuple(groups))
