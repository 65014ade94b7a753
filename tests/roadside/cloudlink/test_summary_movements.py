"""Per-movement measures on an intersection's MAP from an RSU's tracks: vehicles on each signal
group's ingress lanes, queued ones, the queue's reach from the stop line, the flow towards it,
and the vehicles on its egress lanes."""

from __future__ import annotations

import pytest

from roadside.cloudlink.summary import MovementLayout, movement_measures
from tests.conftest import make_object
from vicoop.intersection import (
    Connection,
    IntersectionMap,
    Lane,
    LaneDirection,
    LaneKind,
    SignalGroup,
    StopLine,
)
from vicoop.model import GeodeticOrigin, ObjectClass, PerceptionFrame

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
NOW = 1_800_000_000_000_000_000
IN, OUT = LaneDirection.INGRESS, LaneDirection.EGRESS


def crossing() -> IntersectionMap:
    """West-to-east (group 1) and north-to-south (group 2), one lane each way, 3.5 m wide."""

    def lane(i: int, d: LaneDirection, a: int, *pts: tuple[float, float]) -> Lane:
        return Lane(i, f"l{i}", LaneKind.VEHICLE, d, a, pts, 3.5)

    lanes = (
        lane(1, IN, 3, (-100.0, 0.0), (-5.0, 0.0)),
        lane(2, IN, 2, (0.0, 100.0), (0.0, 5.0)),
        lane(3, OUT, 1, (5.0, 0.0), (100.0, 0.0)),
        lane(4, OUT, 4, (0.0, -5.0), (0.0, -100.0)),
    )
    return IntersectionMap(
        "x",
        1,
        (0.0, 0.0),
        lanes,
        tuple(StopLine.at_end_of(lane) for lane in lanes[:2]),
        (Connection(1, 1, 3, 1), Connection(2, 2, 4, 2)),
        (SignalGroup(1), SignalGroup(2)),
        ((1, 2), (2, 1)),
    )


def test_a_queue_the_cars_coming_and_those_gone_are_counted_per_movement() -> None:
    objects = (
        make_object(1, x=-8.0),  # queued at the stop line
        make_object(2, x=-15.0, vx=0.5),
        make_object(3, x=-22.0),  # the queue's end: 17 m from the stop line
        make_object(4, x=-60.0, vx=10.0),  # coming at 10 m/s
        make_object(5, x=-40.0, y=0.5, vx=-10.0),  # driving against the lane: not on it
        make_object(6, x=-30.0, object_class=ObjectClass.PEDESTRIAN),  # not a vehicle
        make_object(7, x=20.0, vx=12.0),  # gone through, downstream of group 1
        make_object(8, x=40.0, vx=12.0),
        make_object(9, x=60.0, y=30.0),  # on no lane
    )
    frame = PerceptionFrame("rsu-1", 1, NOW, NOW, ORIGIN, objects)
    the_map = crossing()
    one, two = movement_measures(frame, the_map)
    assert (one.signal_group, two.signal_group) == (1, 2)
    assert one.vehicle_count == 4
    assert one.queued_vehicles == 3
    assert one.queue_length_m == pytest.approx(17.0)
    assert one.arrivals_per_s == pytest.approx(10.0 / 95.0)
    assert one.mean_speed_mps == pytest.approx(10.5 / 4)
    assert one.downstream_vehicles == 2
    assert (two.vehicle_count, two.queued_vehicles, two.downstream_vehicles) == (0, 0, 0)
    assert two.queue_length_m == 0.0 and two.arrivals_per_s == 0.0
    # The layout built once gives the same measures.
    assert movement_measures(frame, the_map, MovementLayout.of(the_map)) == [one, two]


def test_an_empty_frame_gives_zero_measures_for_every_group() -> None:
    frame = PerceptionFrame("rsu-1", 1, NOW, NOW, ORIGIN, ())
    measures = movement_measures(frame, crossing())
    assert [m.signal_group for m in measures] == [1, 2]
    assert all(m.vehicle_count == 0 and m.downstream_vehicles == 0 for m in measures)
