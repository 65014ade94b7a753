"""MAP between the intersection model and the wire: every field round-trips, and a message that
is not a whole map is refused naming the field."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protos.vicoop.v1 import map_pb2
from vehicle.testing import crossroads_map
from vicoop.codec_map import map_from_proto, map_to_proto
from vicoop.errors import CodecError
from vicoop.intersection import Manoeuvre


def _wire(m: map_pb2.IntersectionMap) -> map_pb2.IntersectionMap:
    return map_pb2.IntersectionMap.FromString(m.SerializeToString())


def test_a_map_round_trips_whole() -> None:
    m = crossroads_map()
    lane = dataclasses.replace(
        m.lanes[0], speed_limit_mps=13.9, manoeuvres=Manoeuvre.STRAIGHT | Manoeuvre.RIGHT
    )
    free_right = dataclasses.replace(m.connections[0], signal_group=None)
    m = dataclasses.replace(
        m, lanes=(lane, *m.lanes[1:]), connections=(free_right, *m.connections[1:])
    )
    assert map_from_proto(_wire(map_to_proto(m))) == m


def test_each_conflict_pair_goes_once_and_comes_back_symmetric() -> None:
    m = crossroads_map()
    pb = map_to_proto(m)
    assert [(c.first, c.second) for c in pb.conflicts] == [(2, 4), (2, 6)]
    assert set(map_from_proto(pb).conflicts) == set(m.conflicts)


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (
            lambda pb: pb.lanes[0].ClearField("centre_line"),
            r"map.lanes\[0\].centre_line: 2..63 points, got 0",
        ),
        (
            lambda pb: setattr(pb.lanes[1], "kind", 9),
            r"map.lanes\[1\].kind: unknown LaneKind value 9",
        ),
        (lambda pb: setattr(pb.lanes[2], "direction", 0), r"map.lanes\[2\].direction: unknown"),
        (
            lambda pb: setattr(pb.lanes[0], "manoeuvres", 1 << 20),
            r"map.lanes\[0\].manoeuvres: unknown AllowedManeuvers",
        ),
        (
            lambda pb: setattr(pb.connections[1], "to_lane", 77),
            r"map.connections\[1\].to_lane: unknown lane 77",
        ),
        (
            lambda pb: setattr(pb.connections[0], "from_lane", 2),
            r"map.connections\[0\].from_lane: lane 2 is not an ingress lane",
        ),
        (
            lambda pb: setattr(pb.conflicts[0], "second", 9),
            r"map.conflicts\[\d\]: unknown signal group 9",
        ),
        (lambda pb: setattr(pb.lanes[0], "width_m", float("nan")), r"map.lanes\[0\].width_m"),
        (lambda pb: setattr(pb, "revision", 128), r"map.revision"),
        (
            lambda pb: pb.signal_groups.add(signal_group=9),
            r"map.signal_groups\[3\]: group 9 is used by no connection",
        ),
    ],
)
def test_a_map_that_is_not_whole_is_refused_naming_the_field(spoil: object, says: str) -> None:
    pb = map_to_proto(crossroads_map())
    spoil(pb)  # type: ignore[operator]
    with pytest.raises(CodecError, match=says):
        map_from_proto(_wire(pb))


@given(st.binary(max_size=400))
def test_any_bytes_decode_to_a_whole_map_or_a_codec_error(data: bytes) -> None:
    try:
        pb = map_pb2.IntersectionMap.FromString(data)
    except Exception:  # not protobuf at all: the server's request parsing refuses it
        return
    try:
        m = map_from_proto(pb)
    except CodecError:
        return
    assert map_from_proto(map_to_proto(m)) == m
