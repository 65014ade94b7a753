"""The intersection model: a whole map validates, and each way a map can be wrong gives one
``IntersectionError`` whose message names the field."""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vicoop.errors import VicoopError
from vicoop.intersection import (
    Connection,
    Crosswalk,
    IntersectionError,
    IntersectionMap,
    Lane,
    LaneDirection,
    LaneKind,
    Manoeuvre,
    SignalGroup,
    StopLine,
    validate,
)

IN, OUT = LaneDirection.INGRESS, LaneDirection.EGRESS
CAR = LaneKind.VEHICLE


def crossing() -> IntersectionMap:
    """A two-arm crossing: west -> east (group 1), south -> north (group 2), a crosswalk over
    the west arm (group 3); groups 1 and 2 conflict."""
    lanes = (
        Lane(1, "W_in", CAR, IN, 1, ((-50.0, -1.5), (-5.0, -1.5)), 3.0, Manoeuvre.STRAIGHT, 13.9),
        Lane(2, "S_in", CAR, IN, 2, ((1.5, -50.0), (1.5, -5.0)), 3.0, Manoeuvre.STRAIGHT),
        Lane(3, "E_out", CAR, OUT, 3, ((5.0, -1.5), (50.0, -1.5)), 3.0, Manoeuvre.STRAIGHT),
        Lane(4, "N_out", CAR, OUT, 4, ((1.5, 5.0), (1.5, 50.0)), 3.0, Manoeuvre.STRAIGHT),
    )
    return IntersectionMap(
        "junction-1",
        3,
        (0.0, 0.0),
        lanes,
        tuple(StopLine.at_end_of(lane) for lane in lanes if lane.direction is IN),
        (
            Connection(0, 1, 3, 1, Manoeuvre.STRAIGHT),
            Connection(1, 2, 4, 2, Manoeuvre.STRAIGHT),
        ),
        (SignalGroup(1, "W"), SignalGroup(2, "S"), SignalGroup(3, "walk")),
        ((1, 2), (2, 1)),
        (Crosswalk(10, "walk W", ((-8.0, -6.0), (-8.0, 6.0)), 4.0, 3, (1,)),),
    )


def with_(m: IntersectionMap, **fields: Any) -> IntersectionMap:
    return dataclasses.replace(m, **fields)


def lane_with(m: IntersectionMap, i: int, **fields: Any) -> IntersectionMap:
    lanes = list(m.lanes)
    lanes[i] = dataclasses.replace(lanes[i], **fields)
    return with_(m, lanes=tuple(lanes))


def connection_with(m: IntersectionMap, i: int, **fields: Any) -> IntersectionMap:
    conns = list(m.connections)
    conns[i] = dataclasses.replace(conns[i], **fields)
    return with_(m, connections=tuple(conns))


def crosswalk_with(m: IntersectionMap, **fields: Any) -> IntersectionMap:
    return with_(m, crosswalks=(dataclasses.replace(m.crosswalks[0], **fields),))


def test_a_whole_map_validates_and_answers_what_a_user_asks() -> None:
    m = crossing()
    assert validate(m) is m
    assert m.group_ids == (1, 2, 3)
    assert m.conflicting(1) == {2} and m.conflicting(3) == frozenset()
    assert m.ingress_lanes(1) == (1,) and m.ingress_lanes(2) == (2,)
    assert m.lane(3).name == "E_out"
    with pytest.raises(KeyError):
        m.lane(99)
    # A MAPEM node list is the centre line about the reference point.
    moved = with_(m, reference_xy=(10.0, 20.0))
    assert moved.node_offsets(m.lane(1)) == ((-60.0, -21.5), (-15.0, -21.5))
    # The stop line crosses the end of the ingress lane, as wide as the lane.
    (stop, _) = m.stop_lines
    assert stop.midpoint == (-5.0, -1.5)
    assert math.dist(stop.start, stop.end) == pytest.approx(3.0)
    assert stop.start == (-5.0, 0.0) and stop.end == (-5.0, -3.0)  # left, then right of travel
    assert m.lane(2).end_direction == (0.0, 1.0)
    assert m.crosswalks[0].area.area == pytest.approx(12.0 * 4.0)
    assert IntersectionError.__mro__[1:3] == (VicoopError, ValueError)


def test_manoeuvres_by_name() -> None:
    both = Manoeuvre.from_names(["straight", "RIGHT"])
    assert both == Manoeuvre.STRAIGHT | Manoeuvre.RIGHT
    assert both.names() == ("straight", "right")
    assert Manoeuvre.NONE.names() == ()
    with pytest.raises(ValueError, match=r"unknown manoeuvre 'sideways' \(one of straight, left"):
        Manoeuvre.from_names(["sideways"])


BAD: list[tuple[str, IntersectionMap, str]] = [
    ("empty id", with_(crossing(), intersection_id=""), r"^intersection_id: must not be empty$"),
    ("revision", with_(crossing(), revision=128), r"^revision: must be an integer 0\.\.127"),
    ("bool revision", with_(crossing(), revision=True), r"^revision: must be an integer"),
    (
        "reference",
        with_(crossing(), reference_xy=(math.nan, 0.0)),
        r"^reference_xy: not a point within",
    ),
    (
        "reference x only",
        with_(crossing(), reference_xy=(1.0,)),
        r"^reference_xy: not a point within",
    ),
    ("lane id", lane_with(crossing(), 0, lane_id=256), r"^lanes\[0\]\.lane_id: must be an"),
    ("twice", lane_with(crossing(), 1, lane_id=1), r"^lanes\[1\]\.lane_id: lane 1 appears twice"),
    ("approach", lane_with(crossing(), 2, approach=16), r"^lanes\[2\]\.approach: must be"),
    (
        "one point",
        lane_with(crossing(), 0, centre_line=((0.0, 0.0),)),
        r"^lanes\[0\]\.centre_line: needs at least 2 points, got 1$",
    ),
    (
        "inf point",
        lane_with(crossing(), 0, centre_line=((0.0, 0.0), (math.inf, 1.0))),
        r"^lanes\[0\]\.centre_line\[1\]: not an \(x, y\) point within",
    ),
    (
        "nan point",
        lane_with(crossing(), 3, centre_line=((math.nan, 0.0), (1.0, 1.0))),
        r"^lanes\[3\]\.centre_line\[0\]: not an \(x, y\) point",
    ),
    (
        "same points",
        lane_with(crossing(), 0, centre_line=((1.0, 1.0), (1.0, 1.0))),
        r"^lanes\[0\]\.centre_line: shorter than 0.1 m$",
    ),
    ("width 0", lane_with(crossing(), 0, width_m=0.0), r"^lanes\[0\]\.width_m: must be > 0"),
    ("width nan", lane_with(crossing(), 1, width_m=math.nan), r"^lanes\[1\]\.width_m: must be"),
    ("width 51", lane_with(crossing(), 2, width_m=51.0), r"^lanes\[2\]\.width_m: must be"),
    ("speed", lane_with(crossing(), 0, speed_limit_mps=0.0), r"^lanes\[0\]\.speed_limit_mps"),
    (
        "speed nan",
        lane_with(crossing(), 0, speed_limit_mps=math.nan),
        r"^lanes\[0\]\.speed_limit_mps",
    ),
    (
        "group 0",
        with_(crossing(), signal_groups=(SignalGroup(0), *crossing().signal_groups[1:])),
        r"^signal_groups\[0\]\.signal_group: must be an integer 1\.\.255, got 0$",
    ),
    (
        "group twice",
        with_(crossing(), signal_groups=(*crossing().signal_groups, SignalGroup(2))),
        r"^signal_groups\[3\]\.signal_group: group 2 appears twice$",
    ),
    (
        "stop line on egress",
        with_(crossing(), stop_lines=(StopLine(3, (0.0, 0.0), (0.0, 1.0)),)),
        r"^stop_lines\[0\]\.lane_id: lane 3 is not an ingress lane$",
    ),
    (
        "stop line unknown lane",
        with_(crossing(), stop_lines=(StopLine(9, (0.0, 0.0), (0.0, 1.0)),)),
        r"^stop_lines\[0\]\.lane_id: unknown lane 9$",
    ),
    (
        "two stop lines",
        with_(crossing(), stop_lines=(*crossing().stop_lines, crossing().stop_lines[0])),
        r"^stop_lines\[2\]\.lane_id: lane 1 has two stop lines$",
    ),
    (
        "stop line nan",
        with_(crossing(), stop_lines=(StopLine(1, (0.0, 0.0), (math.nan, 1.0)),)),
        r"^stop_lines\[0\]\.end: not an \(x, y\) point within",
    ),
    (
        "stop line point",
        with_(crossing(), stop_lines=(StopLine(1, (2.0, 0.0), (2.0, 0.0)),)),
        r"^stop_lines\[0\]: shorter than 0.1 m$",
    ),
    (
        "connection id",
        connection_with(crossing(), 1, connection_id=300),
        r"^connections\[1\]\.connection_id: must be an integer 0\.\.255, got 300$",
    ),
    (
        "connection twice",
        connection_with(crossing(), 1, connection_id=0),
        r"^connections\[1\]\.connection_id: connection 0 appears twice$",
    ),
    (
        "unknown to_lane",
        connection_with(crossing(), 1, to_lane=17),
        r"^connections\[1\]\.to_lane: unknown lane 17$",
    ),
    (
        "unknown from_lane",
        connection_with(crossing(), 0, from_lane=42),
        r"^connections\[0\]\.from_lane: unknown lane 42$",
    ),
    (
        "from an egress lane",
        connection_with(crossing(), 0, from_lane=4),
        r"^connections\[0\]\.from_lane: lane 4 is not an ingress lane$",
    ),
    (
        "to an ingress lane",
        connection_with(crossing(), 0, to_lane=2),
        r"^connections\[0\]\.to_lane: lane 2 is not an egress lane$",
    ),
    (
        "unknown group",
        connection_with(crossing(), 0, signal_group=9),
        r"^connections\[0\]\.signal_group: unknown signal group 9$",
    ),
    (
        "crosswalk id of a lane",
        crosswalk_with(crossing(), crosswalk_id=2),
        r"^crosswalks\[0\]\.crosswalk_id: id 2 is already a lane's or a crosswalk's$",
    ),
    (
        "crosswalk twice",
        with_(crossing(), crosswalks=crossing().crosswalks * 2),
        r"^crosswalks\[1\]\.crosswalk_id: id 10 is already",
    ),
    (
        "crosswalk line",
        crosswalk_with(crossing(), centre_line=((0.0, 0.0), (0.0, math.inf))),
        r"^crosswalks\[0\]\.centre_line\[1\]: not an \(x, y\) point",
    ),
    (
        "crosswalk width",
        crosswalk_with(crossing(), width_m=-1.0),
        r"^crosswalks\[0\]\.width_m: must be > 0",
    ),
    (
        "crosswalk group",
        crosswalk_with(crossing(), signal_group=7),
        r"^crosswalks\[0\]\.signal_group: unknown signal group 7$",
    ),
    (
        "crosswalk crosses",
        crosswalk_with(crossing(), crosses=(1, 33)),
        r"^crosswalks\[0\]\.crosses\[1\]: unknown lane 33$",
    ),
    (
        "unused group",
        crosswalk_with(crossing(), signal_group=None),
        r"^signal_groups\[2\]: group 3 is used by no connection or crosswalk$",
    ),
    (
        "unused by a free turn",
        connection_with(crossing(), 1, signal_group=None),
        r"^signal_groups\[1\]: group 2 is used by no connection or crosswalk$",
    ),
    (
        "not symmetric",
        with_(crossing(), conflicts=((1, 2), (2, 1), (1, 3))),
        r"^conflicts\[2\]: not symmetric: group 1 conflicts with 3 but 3 not with 1$",
    ),
    (
        "unknown conflict",
        with_(crossing(), conflicts=((1, 8), (8, 1))),
        r"^conflicts\[0\]: unknown signal group 8$",
    ),
    (
        "self conflict",
        with_(crossing(), conflicts=((2, 2),)),
        r"^conflicts\[0\]: group 2 cannot conflict with itself$",
    ),
    (
        "no group in a conflict",
        with_(crossing(), conflicts=((None, 1), (1, None))),
        r"^conflicts\[0\]: unknown signal group None$",
    ),
]


@pytest.mark.parametrize(("case", "m", "message"), BAD, ids=[case for case, _, _ in BAD])
def test_a_bad_map_gives_one_error_naming_the_field(
    case: str, m: IntersectionMap, message: str
) -> None:
    with pytest.raises(IntersectionError, match=message):
        validate(m)


def test_the_error_is_prefixed_with_where_the_map_is() -> None:
    m = connection_with(crossing(), 1, to_lane=17)
    with pytest.raises(IntersectionError) as info:
        validate(m, "intersections[0]")
    assert str(info.value) == "intersections[0].connections[1].to_lane: unknown lane 17"


GROUPS = (1, 2, 3)


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=8))
def test_conflicts_validate_iff_symmetric_known_and_between_two_groups(
    pairs: list[tuple[int, int]],
) -> None:
    m = with_(crossing(), conflicts=tuple(pairs))
    ok = all(a in GROUPS and b in GROUPS and a != b and (b, a) in pairs for a, b in pairs)
    if ok:
        assert validate(m) is m
        for a, b in pairs:
            assert b in m.conflicting(a) and a in m.conflicting(b)
    else:
        with pytest.raises(IntersectionError, match=r"^conflicts\[\d+\]: "):
            validate(m)


finite = st.floats(-1e4, 1e4, allow_nan=False)
any_float = st.floats(allow_nan=True, allow_infinity=True)


@given(st.lists(st.tuples(any_float, any_float), min_size=0, max_size=5))
def test_a_centre_line_validates_iff_finite_in_the_site_and_at_least_10_cm_long(
    points: list[tuple[float, float]],
) -> None:
    m = lane_with(crossing(), 0, centre_line=tuple(points))
    ok = (
        len(points) >= 2
        and all(math.isfinite(v) and abs(v) <= 100_000.0 for p in points for v in p)
        and sum(math.dist(a, b) for a, b in itertools.pairwise(points)) >= 0.1
    )
    if ok:
        validate(m)
    else:
        with pytest.raises(IntersectionError, match=r"^lanes\[0\]\.centre_line"):
            validate(m)


@given(any_float)
def test_a_width_validates_iff_in_0_to_50_m(width: float) -> None:
    for m, field in [
        (lane_with(crossing(), 1, width_m=width), r"^lanes\[1\]\.width_m"),
        (crosswalk_with(crossing(), width_m=width), r"^crosswalks\[0\]\.width_m"),
    ]:
        if math.isfinite(width) and 0.0 < width <= 50.0:
            validate(m)
        else:
            with pytest.raises(IntersectionError, match=field):
                validate(m)
