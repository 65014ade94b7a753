"""The perception response on the wire is one message in protobuf's canonical form, for every
frame and every subset of its objects, so any decoder (not only one that merges) reads it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protos.vicoop.v1 import roadside_pb2
from tests.conftest import make_object
from vicoop import codec
from vicoop.model import (
    DetectedObject,
    GeodeticOrigin,
    ObjectClass,
    PerceptionFrame,
    SensorHealth,
    SensorKind,
    SensorStatus,
    Size3,
    Vec3,
)
from vicoop.serving.encoding import EncodedFrame

_floats = st.floats(allow_nan=False, width=64)
_float32s = st.floats(allow_nan=False, width=32)
_int64s = st.integers(-(2**63), 2**63 - 1)
_uint64s = st.integers(0, 2**64 - 1)

_objects = st.builds(
    DetectedObject,
    track_id=_uint64s,
    object_class=st.sampled_from(ObjectClass),
    class_confidence=_float32s,
    position=st.builds(Vec3, _floats, _floats, _floats),
    velocity=st.builds(Vec3, _floats, _floats, _floats),
    heading_rad=_floats,
    size=st.builds(Size3, _float32s, _float32s, _float32s),
    position_covariance=st.tuples(*[_float32s] * 6),
    existence_probability=_float32s,
    valid_at_ns=_int64s,
    sensor_ids=st.lists(st.text(max_size=8), max_size=3).map(tuple),
    vehicle_id=st.text(max_size=8),
)
_sensors = st.builds(
    SensorStatus,
    sensor_id=st.text(max_size=8),
    kind=st.sampled_from(SensorKind),
    health=st.sampled_from(SensorHealth),
    last_measurement_ns=_int64s,
)
_frames = st.builds(
    PerceptionFrame,
    rsu_id=st.text(max_size=300),  # past 127 bytes, a two-byte length prefix
    sequence=_uint64s,
    valid_at_ns=_int64s,
    published_at_ns=_int64s,
    origin=st.builds(
        GeodeticOrigin,
        st.floats(-90.0, 90.0),
        st.floats(-180.0, 180.0),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    objects=st.lists(_objects, max_size=12).map(tuple),
    sensors=st.lists(_sensors, max_size=4).map(tuple),
)


def _parsed(data: bytes) -> roadside_pb2.StreamPerceptionResponse:
    return roadside_pb2.StreamPerceptionResponse.FromString(data)


def _assert_canonical(data: bytes, frame: PerceptionFrame, objects: list[DetectedObject]) -> None:
    """``data`` is protobuf's own serialization of ``frame`` holding only ``objects``."""
    expected = codec.frame_header_to_proto(frame)
    expected.objects.extend(codec.object_to_proto(o) for o in objects)
    assert _parsed(data).SerializeToString(deterministic=True) == data
    assert _parsed(data).frame == expected


@given(_frames, st.data())
def test_every_response_is_the_canonical_serialization(
    frame: PerceptionFrame, data: st.DataObject
) -> None:
    n = len(frame.objects)
    indices = data.draw(st.lists(st.integers(0, n - 1), unique=True) if n else st.just([]))
    encoded = EncodedFrame(frame)
    _assert_canonical(encoded.all_objects, frame, list(frame.objects))
    _assert_canonical(encoded.subset(indices), frame, [frame.objects[i] for i in indices])


def test_a_frame_past_16_kib_has_a_three_byte_length_prefix() -> None:
    frame = PerceptionFrame(
        "rsu",
        7,
        1,
        2,
        GeodeticOrigin(50.0, 7.0, 55.0),
        objects=tuple(make_object(i, x=float(i), valid_at_ns=3) for i in range(200)),
    )
    encoded = EncodedFrame(frame)
    assert len(encoded.all_objects) > 2**14
    _assert_canonical(encoded.all_objects, frame, list(frame.objects))
    _assert_canonical(encoded.subset([199, 0]), frame, [frame.objects[199], frame.objects[0]])
