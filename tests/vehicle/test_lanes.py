"""Lane matching and a lane's signal, on the four-arm crossing of ``vehicle.testing``."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vehicle.lanes import match_lane, signal_for
from vehicle.testing import crossroads_map
from vicoop.intersection import Manoeuvre
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

M = crossroads_map()  # ingress 1 (from the north, x = -1.75), 3 (east), 5 (south), 7 (west)
SOUTH, WEST = -math.pi / 2, math.pi


def test_a_vehicle_driving_south_on_the_north_arm_is_on_lane_1() -> None:
    match = match_lane(M, -1.5, 25.0, SOUTH + 0.1)
    assert match is not None
    assert (match.intersection_id, match.lane_id) == ("junction-1", 1)
    assert match.offset_m == pytest.approx(0.25)
    assert match.distance_to_stop_m == pytest.approx(15.0)  # the stop line is at y = 10
    assert match.heading_error_rad == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("x", "y", "heading", "why"),
    [
        (1.75, 25.0, math.pi / 2, "on the egress lane beside it (driving north)"),
        (-1.5, 25.0, math.pi / 2, "on lane 1 but the wrong way"),
        (-6.0, 25.0, SOUTH, "off the lane, past its half width"),
        (-1.5, 5.0, SOUTH, "past the stop line, inside the junction"),
        (-1.5, 60.0, SOUTH, "before the lane starts"),
    ],
)
def test_no_lane_when_the_vehicle_is_not_on_one(
    x: float, y: float, heading: float, why: str
) -> None:
    assert match_lane(M, x, y, heading) is None, why


@given(
    st.integers(0, 3),
    st.floats(0.05, 0.95),
    st.floats(-1.2, 1.2),
    st.floats(-0.6, 0.6),
)
def test_a_vehicle_on_any_ingress_lane_near_its_centre_and_heading_matches_it(
    arm: int, fraction: float, lateral: float, heading_error: float
) -> None:
    lane = M.lane(2 * arm + 1)
    (x0, y0), (x1, y1) = lane.centre_line
    direction = math.atan2(y1 - y0, x1 - x0)
    # A point along the lane, shifted sideways by ``lateral`` (within the lane's half width).
    x = x0 + fraction * (x1 - x0) - lateral * math.sin(direction)
    y = y0 + fraction * (y1 - y0) + lateral * math.cos(direction)
    match = match_lane(M, x, y, direction + heading_error)
    assert match is not None and match.lane_id == lane.lane_id
    assert match.offset_m == pytest.approx(abs(lateral), abs=1e-6)
    assert match.distance_to_stop_m == pytest.approx((1 - fraction) * 30.0, abs=1e-6)


def test_my_signal_is_the_group_that_releases_my_manoeuvre() -> None:
    green, red = MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED, MovementPhaseState.STOP_AND_REMAIN
    spat = Spat(
        "junction-1",
        0,
        1,
        ControlMode.FIXED_TIME,
        (
            MovementEvent(2, green, 10, 10, 10, 1.0),
            MovementEvent(4, red, 10, 10, 10, 1.0),
            MovementEvent(2, MovementPhaseState.PROTECTED_CLEARANCE, 13, 13, 13, 1.0),
        ),
    )
    north = signal_for(M, spat, 1)  # straight on from the north arm: group 2
    assert [(e.signal_group, e.state) for e in north] == [
        (2, green),
        (2, MovementPhaseState.PROTECTED_CLEARANCE),
    ]
    assert [e.signal_group for e in signal_for(M, spat, 3)] == [4]
    assert signal_for(M, spat, 1, Manoeuvre.LEFT) == []  # the lane has no left turn
    with pytest.raises(KeyError):
        signal_for(M, spat, 77)
    with pytest.raises(ValueError, match="SPaT of intersection 'elsewhere'"):
        signal_for(M, Spat("elsewhere", 0, 1, ControlMode.UNKNOWN, ()), 1)
