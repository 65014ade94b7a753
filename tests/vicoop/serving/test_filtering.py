"""Per-subscriber filtering: region, classes and rate limit, with exact expectations."""

from __future__ import annotations

from tests.conftest import make_object
from vicoop.model import Circle, GeodeticOrigin, ObjectClass, PerceptionFrame, Polygon, Subscription
from vicoop.serving.filtering import SubscriptionFilter

ORIGIN = GeodeticOrigin(50.0, 7.0, 0.0)


def _frame(*objects: object) -> PerceptionFrame:
    return PerceptionFrame("rsu", 1, 0, 0, ORIGIN, objects=tuple(objects))  # type: ignore[arg-type]


def test_no_filter_passes_everything() -> None:
    f = SubscriptionFilter(Subscription(), publish_rate_hz=20)
    assert f.passes_everything
    assert f.select(_frame(make_object(1), make_object(2, x=500))).tolist() == [0, 1]


def test_circle_keeps_objects_inside_and_on_the_edge() -> None:
    f = SubscriptionFilter(Subscription(region=Circle(10.0, 0.0, 5.0)), publish_rate_hz=20)
    frame = _frame(
        make_object(1, x=10), make_object(2, x=15), make_object(3, x=15.01), make_object(4, x=-10)
    )
    assert f.select(frame).tolist() == [0, 1]


def test_polygon_keeps_objects_inside_and_on_the_boundary() -> None:
    square = Polygon(((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)))
    f = SubscriptionFilter(Subscription(region=square), publish_rate_hz=20)
    frame = _frame(
        make_object(1, x=5, y=5),
        make_object(2, x=10, y=5),
        make_object(3, x=11, y=5),
        make_object(4, x=5, y=-0.1),
    )
    assert f.select(frame).tolist() == [0, 1]


def test_classes_and_region_combine() -> None:
    sub = Subscription(region=Circle(0.0, 0.0, 20.0), classes=frozenset({ObjectClass.PEDESTRIAN}))
    f = SubscriptionFilter(sub, publish_rate_hz=20)
    frame = _frame(
        make_object(1, x=1, object_class=ObjectClass.PEDESTRIAN),
        make_object(2, x=1, object_class=ObjectClass.CAR),
        make_object(3, x=50, object_class=ObjectClass.PEDESTRIAN),
    )
    assert f.select(frame).tolist() == [0]


def test_rate_limit_takes_every_second_frame_of_a_20_hz_stream_at_10_hz() -> None:
    f = SubscriptionFilter(Subscription(max_rate_hz=10.0), publish_rate_hz=20)
    ticks = [i * 50_000_000 for i in range(10)]
    assert [f.due(t) for t in ticks] == [True, False] * 5


def test_rate_limit_above_the_publish_rate_takes_every_frame() -> None:
    f = SubscriptionFilter(Subscription(max_rate_hz=50.0), publish_rate_hz=20)
    assert all(f.due(i * 50_000_000) for i in range(10))


def test_rate_limit_of_one_hz() -> None:
    f = SubscriptionFilter(Subscription(max_rate_hz=1.0), publish_rate_hz=20)
    due = [i for i in range(60) if f.due(i * 50_000_000)]
    assert due == [0, 20, 40]
