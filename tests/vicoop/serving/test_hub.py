"""The hub's fan-out: latest-wins queues, counted drops, no subscriber holding up another."""

from __future__ import annotations

import asyncio
import contextlib

from protos.vicoop.v1 import roadside_pb2
from tests.conftest import make_object
from vicoop.model import Circle, GeodeticOrigin, ObjectClass, PerceptionFrame, Subscription
from vicoop.serving import PerceptionHub

ORIGIN = GeodeticOrigin(50.0, 7.0, 0.0)


def _frame(seq: int, objects: int = 3) -> PerceptionFrame:
    return PerceptionFrame(
        "rsu",
        seq,
        seq * 50_000_000,
        seq * 50_000_000,
        ORIGIN,
        objects=tuple(make_object(i, x=10.0 * i, valid_at_ns=0) for i in range(objects)),
    )


def _decode(data: bytes | None) -> roadside_pb2.StreamPerceptionResponse:
    assert data is not None
    return roadside_pb2.StreamPerceptionResponse.FromString(data)


async def test_a_stuck_subscriber_loses_its_oldest_frames_and_others_lose_none() -> None:
    hub = PerceptionHub(publish_rate_hz=20, queue_frames=3)
    with hub.subscribe(Subscription()) as stuck, hub.subscribe(Subscription()) as healthy:
        for seq in range(1, 11):
            hub.publish(_frame(seq))
            assert _decode(await healthy.next()).frame.sequence == seq
        # The stuck one never read: it keeps the 3 newest, the 7 before were dropped and counted.
        assert stuck.dropped == 7
        assert [_decode(await stuck.next()).frame.sequence for _ in range(3)] == [8, 9, 10]
        stats = hub.stats()
        assert (stats.frames_published, stats.frames_dropped, stats.subscribers) == (10, 7, 2)
    assert hub.stats().subscribers == 0
    assert hub.stats().frames_delivered == 13


async def test_filtered_subscribers_get_their_objects_and_the_full_count() -> None:
    hub = PerceptionHub(publish_rate_hz=20)
    near = Subscription(region=Circle(0.0, 0.0, 15.0))
    walkers = Subscription(classes=frozenset({ObjectClass.PEDESTRIAN}))
    with hub.subscribe(near) as a, hub.subscribe(walkers) as b, hub.subscribe(Subscription()) as c:
        hub.publish(_frame(1, objects=4))
        got_a, got_b, got_c = [_decode(await s.next()).frame for s in (a, b, c)]
    assert [o.track_id for o in got_a.objects] == [0, 1]
    assert got_a.objects_before_filter == 4
    assert list(got_b.objects) == []
    assert [o.track_id for o in got_c.objects] == [0, 1, 2, 3]


async def test_closing_ends_a_waiting_subscriber() -> None:
    hub = PerceptionHub(publish_rate_hz=20)
    with hub.subscribe(Subscription()) as sub:
        waiter = asyncio.create_task(sub.next())
        await asyncio.sleep(0)
        hub.close_all()
        assert await asyncio.wait_for(waiter, 1.0) is None


async def test_rate_limited_subscriber_gets_every_other_frame() -> None:
    hub = PerceptionHub(publish_rate_hz=20, queue_frames=100)
    with hub.subscribe(Subscription(max_rate_hz=10)) as sub:
        for seq in range(1, 7):
            hub.publish(_frame(seq))
        hub.close_all()
        got = []
        while (data := await sub.next()) is not None:
            got.append(_decode(data).frame.sequence)
    assert got == [1, 3, 5]


def test_distinct_filters_are_capped_and_same_filters_share_one_slot() -> None:
    from vicoop.model import Polygon
    from vicoop.serving.errors import TooManyFilters

    hub = PerceptionHub(publish_rate_hz=20, max_filters=8)

    def square(k: int) -> Subscription:
        x = float(k)
        return Subscription(region=Polygon(((x, 0.0), (x + 5, 0.0), (x + 5, 5.0), (x, 5.0))))

    with contextlib.ExitStack() as stack:
        for k in range(8):
            stack.enter_context(hub.subscribe(square(k)))
            stack.enter_context(hub.subscribe(square(k)))  # the same filter: shared
        stack.enter_context(hub.subscribe(Subscription()))  # no filter: always served
        refused = 0
        for k in range(8, 500):
            try:
                stack.enter_context(hub.subscribe(square(k)))
            except TooManyFilters as exc:
                assert "max_filters 8" in str(exc)
                refused += 1
        assert refused == 492
        assert hub.stats().subscribers == 17
        hub.publish(_frame(1))
    # Once they leave, their slots are free again.
    with hub.subscribe(square(400)):
        pass
