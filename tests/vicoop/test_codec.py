"""Domain <-> protobuf conversion, and the validation of what arrives over the network."""

from __future__ import annotations

import math

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from protos.vicoop.v1 import common_pb2, perception_pb2, roadside_pb2
from tests.conftest import make_object
from vicoop import codec
from vicoop.errors import CodecError
from vicoop.model import Circle, GeodeticOrigin, ObjectClass, PerceptionFrame, Polygon, Subscription


def _frame(objects: int = 3) -> PerceptionFrame:
    return PerceptionFrame(
        rsu_id="rsu-1",
        sequence=7,
        valid_at_ns=1_700_000_000_000_000_000,
        published_at_ns=1_700_000_000_001_000_000,
        origin=GeodeticOrigin(50.9, 6.96, 55.0),
        objects=tuple(
            make_object(i, x=i * 3.0, valid_at_ns=1_700_000_000_000_000_000)
            for i in range(1, objects + 1)
        ),
    )


def test_frame_round_trip_keeps_every_field() -> None:
    frame = _frame()
    decoded = codec.frame_from_proto(codec.frame_to_proto(frame))
    for got, sent in zip(decoded.objects, frame.objects, strict=True):
        # Doubles on the wire come back exact; confidences, sizes and covariances are float32.
        assert (got.track_id, got.object_class, got.position, got.velocity, got.heading_rad) == (
            sent.track_id,
            sent.object_class,
            sent.position,
            sent.velocity,
            sent.heading_rad,
        )
        assert (got.valid_at_ns, got.sensor_ids) == (sent.valid_at_ns, sent.sensor_ids)
        assert got.size == pytest.approx(sent.size, rel=1e-7)
        assert got.position_covariance == pytest.approx(sent.position_covariance, rel=1e-7)
        assert got.class_confidence == pytest.approx(sent.class_confidence, rel=1e-7)
        assert got.existence_probability == pytest.approx(sent.existence_probability, rel=1e-7)
    assert (decoded.rsu_id, decoded.sequence, decoded.valid_at_ns, decoded.published_at_ns) == (
        "rsu-1",
        7,
        frame.valid_at_ns,
        frame.published_at_ns,
    )
    assert decoded.origin == frame.origin
    assert decoded.objects_before_filter == 3


def test_subscription_round_trip() -> None:
    sub = Subscription(
        region=Polygon(((0.0, 0.0), (10.0, 0.0), (10.0, 10.0))),
        classes=frozenset({ObjectClass.CAR, ObjectClass.BUS}),
        max_rate_hz=5.0,
        client_id="veh-1",
    )
    assert codec.subscription_from_proto(codec.subscription_to_proto(sub)) == sub
    circle = Subscription(region=Circle(1.0, 2.0, 30.0))
    assert codec.subscription_from_proto(codec.subscription_to_proto(circle)) == circle


def _options(**fields: object) -> perception_pb2.SubscriptionOptions:
    return perception_pb2.SubscriptionOptions(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (_options(max_rate_hz=-1.0), "options.max_rate_hz must be in [0, 1000], got -1"),
        (_options(max_rate_hz=math.nan), "options.max_rate_hz must be a finite number, got nan"),
        (_options(max_rate_hz=5000.0), "options.max_rate_hz must be in [0, 1000], got 5000"),
        (_options(classes=[5, 99]), "options.classes[1]: unknown ObjectClass value 99"),
        (_options(classes=[0]), "options.classes[0]: OBJECT_CLASS_UNSPECIFIED is not a class"),
        (
            _options(client_id="x" * 200),
            "options.client_id must be at most 128 characters, got 200",
        ),
        (
            _options(
                region=perception_pb2.RegionOfInterest(circle=perception_pb2.Circle(radius_m=0.0))
            ),
            "options.region.circle.radius_m must be in (0, 100000], got 0",
        ),
        (
            _options(
                region=perception_pb2.RegionOfInterest(
                    circle=perception_pb2.Circle(
                        center=common_pb2.Point2(x_m=math.inf), radius_m=5.0
                    )
                )
            ),
            "options.region.circle.center.x_m must be a finite number, got inf",
        ),
        (
            _options(
                region=perception_pb2.RegionOfInterest(
                    polygon=perception_pb2.Polygon(
                        vertices=[common_pb2.Point2(x_m=0, y_m=0), common_pb2.Point2(x_m=1, y_m=1)]
                    )
                )
            ),
            "options.region.polygon.vertices must have 3 to 1000 points, got 2",
        ),
    ],
)
def test_bad_subscriptions_are_rejected_naming_the_field(
    options: perception_pb2.SubscriptionOptions, message: str
) -> None:
    with pytest.raises(CodecError) as excinfo:
        codec.subscription_from_proto(options)
    assert str(excinfo.value) == message


def test_self_intersecting_polygon_is_rejected() -> None:
    bowtie = [(0, 0), (10, 10), (10, 0), (0, 10)]
    options = _options(
        region=perception_pb2.RegionOfInterest(
            polygon=perception_pb2.Polygon(
                vertices=[common_pb2.Point2(x_m=x, y_m=y) for x, y in bowtie]
            )
        )
    )
    with pytest.raises(
        CodecError, match=r"options.region.polygon is not a simple polygon: Self-intersection"
    ):
        codec.subscription_from_proto(options)


def test_frame_with_impossible_values_is_rejected() -> None:
    pb = codec.frame_to_proto(_frame(2))
    pb.objects[1].position_m.y = math.nan
    with pytest.raises(
        CodecError, match=r"frame.objects\[1\].position_m.y must be a finite number"
    ):
        codec.frame_from_proto(pb)
    pb = codec.frame_to_proto(_frame(1))
    pb.origin.latitude_deg = 123.0
    with pytest.raises(CodecError, match=r"frame.origin.latitude_deg must be in \[-90, 90\]"):
        codec.frame_from_proto(pb)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=512))
def test_any_request_bytes_decode_or_fail_cleanly(data: bytes) -> None:
    """Whatever bytes arrive as a subscription, the result is a Subscription or a clear error."""
    try:
        request = roadside_pb2.StreamPerceptionRequest.FromString(data)
    except DecodeError:
        return
    try:
        sub = codec.subscription_from_proto(request.options)
    except CodecError as exc:
        assert str(exc).startswith("options.")
        return
    assert 0.0 <= sub.max_rate_hz <= codec.MAX_RATE_HZ


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        max_size=12,
    ),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_any_region_is_accepted_or_named(
    vertices: list[tuple[float, float]], radius: float
) -> None:
    polygon = _options(
        region=perception_pb2.RegionOfInterest(
            polygon=perception_pb2.Polygon(
                vertices=[common_pb2.Point2(x_m=x, y_m=y) for x, y in vertices]
            )
        )
    )
    circle = _options(
        region=perception_pb2.RegionOfInterest(circle=perception_pb2.Circle(radius_m=radius))
    )
    for options in (polygon, circle):
        try:
            sub = codec.subscription_from_proto(options)
        except CodecError as exc:
            assert str(exc).startswith("options.region.")
        else:
            assert sub.region is not None
