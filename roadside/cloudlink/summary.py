"""What an RSU tells the cloud about traffic: per-approach measures of an intersection, and a
fixed-time signal plan, a stand-in for sites without a signal controller feed
(``cloud.signals.source: fixed_time``). Pure functions."""

from __future__ import annotations

import math

import numpy as np

from vicoop.cloudmodel import (
    ApproachMeasure,
    Intersection,
    SignalColour,
    SignalGroupState,
    SignalState,
)
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
