"""Demand per signal group from what the RSU sees, and the actuated green it needs."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from roadside.spat import GreenModel, arrivals, likely_green_ns
from vicoop.intersection import (
    Connection,
    IntersectionMap,
    Lane,
    LaneDirection,
    LaneKind,
    SignalGroup,
    StopLine,
    validate,
)

NS = 1_000_000_000
MIN, MAX = 5 * NS, 40 * NS


def test_no_traffic_gaps_out_at_the_minimum_and_steady_traffic_holds_to_the_maximum() -> None:
    assert likely_green_ns([], 0.0, MIN, MAX) == MIN
    steady = [float(t) for t in range(0, 100, 2)]  # every 2 s, closer than the 3 s gap
    assert likely_green_ns(steady, 0.0, MIN, MAX) == MAX
    # The last user passes 9 s in: the green gaps out 3 s later.
    assert likely_green_ns([1.0, 3.0, 6.0, 9.0, 20.0], 0.0, MIN, MAX) == 12 * NS


def test_a_queue_at_the_red_leaves_a_headway_apart_once_the_green_begins() -> None:
    # Six users reach the detection point before the green begins 10 s from now: they wait,
    # then pass at 10, 12, ... 20 s; the green gaps out 3 s after the last (13 s long).
    assert likely_green_ns([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 10.0, MIN, MAX) == 13 * NS
    # Users already past the detection point (waiting at the stop line) do not hold it.
    assert likely_green_ns([-9.0, -5.0, -1.0], 10.0, MIN, MAX) == MIN


def test_a_green_still_on_after_its_minimum_was_held_by_someone_already_gone() -> None:
    # 12 s into a green of 5..40 s and nobody in sight: the user who held it passed the
    # detection point at least 2 s ago (detector_gap_s), so it gaps out at the next whole
    # second 3 s after that: 13 s, not "now" (it is still on, so it did not end at 5 s).
    assert likely_green_ns([], -12.0, MIN, MAX) == 13 * NS
    # Users in sight keep it: the last passes 4 s from now (16 s in); 19 s is the first whole
    # second with no passage in the 3 s before it (SUMO checks once a second).
    assert likely_green_ns([1.0, 2.5, 4.0], -12.0, MIN, MAX) == 19 * NS


def test_gap_out_and_max_out() -> None:
    """Gap-out: the first whole second of green with no passage in the 3 s before it ends
    the green; max-out: users every 2 s never leave that gap, the maximum ends it."""
    assert likely_green_ns([2.0, 4.5, 7.0, 12.0], 0.0, MIN, MAX) == 10 * NS
    assert likely_green_ns([float(t) for t in range(-20, 100, 2)], -15.0, MIN, MAX) == MAX


@given(
    st.lists(st.floats(-60, 120, allow_nan=False), max_size=30),
    st.floats(-30, 30, allow_nan=False),
    st.integers(1, 60),
    st.integers(0, 60),
)
def test_the_likely_green_is_always_within_its_bounds(
    times: list[float], start_s: float, min_s: int, extra_s: int
) -> None:
    lo, hi = min_s * NS, (min_s + extra_s) * NS
    assert lo <= likely_green_ns(sorted(times), start_s, lo, hi) <= hi


def one_lane() -> IntersectionMap:
    """One ingress lane from the west to a stop line at x = 0 (group 1), one egress lane."""
    lanes = (
        Lane(
            1,
            "in",
            LaneKind.VEHICLE,
            LaneDirection.INGRESS,
            1,
            ((-100.0, 0.0), (0.0, 0.0)),
            3.0,
            speed_limit_mps=10.0,
        ),
        Lane(2, "out", LaneKind.VEHICLE, LaneDirection.EGRESS, 2, ((10.0, 0.0), (100.0, 0.0)), 3.0),
    )
    return validate(
        IntersectionMap(
            "j",
            0,
            (0.0, 0.0),
            lanes,
            (StopLine.at_end_of(lanes[0]),),
            (Connection(0, 1, 2, 1),),
            (SignalGroup(1),),
        )
    )


def test_arrivals_are_the_times_road_users_reach_the_detection_point() -> None:
    m = one_lane()
    positions = np.array([[-80.0, 0.5], [-50.0, 0.0], [-50.0, 0.0], [-50.0, 10.0], [5.0, 0.0]])
    velocities = np.array([[10.0, 0.0], [0.0, 0.0], [-10.0, 0.0], [10.0, 0.0], [10.0, 0.0]])
    # The detection point is 2 s at 10 m/s (20 m) before the stop line. The first user is 60 m
    # from it at 10 m/s; the second is queued (crawl speed 5 m/s, 30 m); the third drives
    # against the lane, the fourth is off it, the fifth past the stop line.
    assert arrivals(m, positions, velocities) == {1: (6.0, 6.0)}
    assert arrivals(m, np.zeros((0, 2)), np.zeros((0, 2))) == {1: ()}
    wide = GreenModel(margin_m=10.0)  # 10 m beside the lane now counts as on it
    assert arrivals(m, positions, velocities, wide) == {1: (3.0, 6.0, 6.0)}
