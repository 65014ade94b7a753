"""SPaT codec: what a receiver decodes is what was sent, and a window that is not a window is
refused naming the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protos.vicoop.v1 import spat_pb2
from vicoop.codec_spat import movement_from_proto, spat_from_proto, spat_to_proto
from vicoop.errors import CodecError
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

times = st.none() | st.integers(0, 2**62)


@st.composite
def movements(draw: st.DrawFn) -> MovementEvent:
    a, b = sorted([draw(st.integers(0, 2**62)), draw(st.integers(0, 2**62))])
    likely = draw(st.none() | st.integers(a, b))
    known = draw(st.booleans())
    return MovementEvent(
        draw(st.integers(1, 255)),
        draw(st.sampled_from(MovementPhaseState)),
        a if known else None,
        b if known else None,
        likely if known else None,
        draw(st.sampled_from([0.0, 0.25, 0.5, 1.0])),  # exact in float32
    )


@given(
    movements=st.lists(movements(), max_size=8),
    mode=st.sampled_from(ControlMode),
    revision=st.integers(0, 2**64 - 1),
)
def test_round_trip(movements: list[MovementEvent], mode: ControlMode, revision: int) -> None:
    spat = Spat("junction-1", 1_764_746_434_000_000_000, revision, mode, tuple(movements))
    wire = spat_to_proto(spat).SerializeToString()
    assert spat_from_proto(spat_pb2.IntersectionSpat.FromString(wire)) == spat


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"signal_group": 0}, r"movement.signal_group must be 1..255, got 0"),
        ({"signal_group": 256}, r"signal_group must be 1..255, got 256"),
        ({"state": 42}, r"movement.state: unknown MovementPhaseState value 42"),
        ({"min_end_ns": 20, "max_end_ns": 10}, r"min_end_ns 20 is after max_end_ns 10"),
        ({"min_end_ns": 10, "max_end_ns": 20, "likely_end_ns": 30}, r"likely_end_ns 30 is outside"),
        ({"min_end_ns": -1}, r"min_end_ns must be ns since the Unix epoch"),
        ({"confidence": 1.5}, r"confidence must be in \[0, 1\], got 1.5"),
        ({"confidence": float("nan")}, r"confidence must be in \[0, 1\]"),
    ],
)
def test_a_bad_movement_is_refused_naming_the_field(
    fields: dict[str, object], message: str
) -> None:
    pb = spat_pb2.MovementEvent(signal_group=1, state=3)
    for name, value in fields.items():
        setattr(pb, name, value)
    with pytest.raises(CodecError, match=message):
        movement_from_proto(pb)


def test_a_bad_intersection_is_refused_naming_the_field() -> None:
    with pytest.raises(CodecError, match=r"spat.intersection_id must be 1..64 characters, got 0"):
        spat_from_proto(spat_pb2.IntersectionSpat())
    pb = spat_pb2.IntersectionSpat(intersection_id="j", mode=99)  # type: ignore[arg-type]
    with pytest.raises(CodecError, match=r"spat.mode: unknown ControlMode value 99"):
        spat_from_proto(pb)
    pb = spat_pb2.IntersectionSpat(
        intersection_id="j",
        movements=[spat_pb2.MovementEvent(signal_group=1, state=3, max_end_ns=5, min_end_ns=9)],
    )
    with pytest.raises(CodecError, match=r"spat.movements\[0\]: min_end_ns 9 is after"):
        spat_from_proto(pb)
