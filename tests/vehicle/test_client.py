"""The vehicle client library against a real RSU server: streaming, filters, reconnection after
an RSU restart, stale streams, rejected subscriptions and the blocking wrapper."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.conftest import make_object
from vehicle import (
    Circle,
    ClientStateError,
    ObjectClass,
    PerceptionFrame,
    ReconnectPolicy,
    RoadsideClient,
    RoadsideUnavailable,
    SubscriptionRejected,
    SyncRoadsideClient,
)
from vehicle.client import PerceptionStream
from vehicle.testing import FakeRoadside

FAST = ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, jitter=0.0)


async def _take(
    stream: PerceptionStream, count: int, timeout_s: float = 10.0
) -> list[PerceptionFrame]:
    frames: list[PerceptionFrame] = []

    async def read() -> None:
        async for frame in stream:
            frames.append(frame)
            if len(frames) == count:
                return

    await asyncio.wait_for(read(), timeout_s)
    return frames


async def test_frames_arrive_filtered_with_latency_and_site(fake_rsu: FakeRoadside) -> None:
    fake_rsu.publish(
        [
            make_object(1, x=2.0, object_class=ObjectClass.PEDESTRIAN),
            make_object(2, x=3.0, object_class=ObjectClass.CAR),
            make_object(3, x=90.0, object_class=ObjectClass.PEDESTRIAN),
        ]
    )
    fake_rsu.every(50.0)
    async with RoadsideClient(fake_rsu.target) as rsu:
        site = await rsu.site()
        assert site.rsu_id == "fake-rsu"
        stream = rsu.perception(roi=Circle(0.0, 0.0, 10.0), classes={ObjectClass.PEDESTRIAN})
        frames = await _take(stream, 3)
    assert all([o.track_id for o in f.objects] == [1] for f in frames)
    assert all(f.objects_before_filter == 3 for f in frames)
    assert all(f.latency_s is not None and f.latency_s >= 0.0 for f in frames)
    assert frames[0].origin == site.origin
    assert stream.stats.frames == 3


async def test_polygon_given_as_vertices(fake_rsu: FakeRoadside) -> None:
    fake_rsu.publish([make_object(1, x=5.0, y=5.0), make_object(2, x=-5.0, y=5.0)])
    fake_rsu.every(50.0)
    async with RoadsideClient(fake_rsu.target) as rsu:
        frames = await _take(
            rsu.perception(roi=[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]), 1
        )
    assert [o.track_id for o in frames[0].objects] == [1]


async def test_stream_reconnects_and_resubscribes_after_the_rsu_restarts() -> None:
    async with FakeRoadside() as fake, RoadsideClient(fake.target, reconnect=FAST) as rsu:
        fake.publish([make_object(1, x=1.0), make_object(2, x=50.0)])
        fake.every(50.0)
        stream = rsu.perception(roi=Circle(0.0, 0.0, 10.0))
        frames = aiter(stream)
        before = await asyncio.wait_for(anext(frames), 5)
        await fake.restart(down_for_s=0.3)
        after = await asyncio.wait_for(anext(frames), 10)
        # The new RSU process numbers its frames from 1 again; the filter still applies.
        assert [o.track_id for o in before.objects] == [o.track_id for o in after.objects] == [1]
        assert stream.stats.reconnects >= 1
        assert fake.hub.subscriber_count == 1
        await frames.aclose()  # type: ignore[attr-defined]


async def test_a_silent_stream_is_detected_as_stale_and_reconnected() -> None:
    async with (
        FakeRoadside() as fake,
        RoadsideClient(fake.target, reconnect=FAST, stale_after_s=0.3) as rsu,
    ):
        stream = rsu.perception()
        frames = aiter(stream)
        reader = asyncio.ensure_future(anext(frames))
        await asyncio.sleep(1.0)  # the RSU publishes nothing
        assert stream.stats.stale_events >= 1
        assert stream.stats.reconnects >= 1
        assert not reader.done()
        fake.publish([make_object(7)])
        fake.every(20.0)
        frame = await asyncio.wait_for(reader, 5)
        assert [o.track_id for o in frame.objects] == [7]
        await frames.aclose()  # type: ignore[attr-defined]


async def test_sequence_gaps_are_counted_as_missed_frames(fake_rsu: FakeRoadside) -> None:
    async with RoadsideClient(fake_rsu.target) as rsu:
        stream = rsu.perception()
        frames = aiter(stream)
        reader = asyncio.ensure_future(anext(frames))
        while fake_rsu.hub.subscriber_count == 0:
            await asyncio.sleep(0.01)
        fake_rsu.publish([make_object(1)])
        await asyncio.wait_for(reader, 5)
        fake_rsu.sequence += 4  # four frames this vehicle never sees
        fake_rsu.publish()
        await asyncio.wait_for(anext(frames), 5)
        assert stream.stats.frames_missed == 4
        await frames.aclose()  # type: ignore[attr-defined]


async def test_unreachable_rsu_gives_up_when_told_to() -> None:
    policy = ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=0.1, give_up_after_s=0.5)
    async with RoadsideClient("127.0.0.1:1", reconnect=policy, stale_after_s=0.2) as rsu:
        with pytest.raises(RoadsideUnavailable, match=r"no frame from 127\.0\.0\.1:1 for 0\.5 s"):
            async for _ in rsu.perception():
                pass


async def test_invalid_subscriptions_fail_before_any_io() -> None:
    async with RoadsideClient("127.0.0.1:1") as rsu:
        with pytest.raises(
            SubscriptionRejected,
            match=r"INVALID_ARGUMENT: options.max_rate_hz must be in \[0, 1000\], got -2",
        ):
            rsu.perception(max_rate_hz=-2)
        with pytest.raises(SubscriptionRejected, match="not a simple polygon"):
            rsu.perception(roi=[(0, 0), (10, 10), (10, 0), (0, 10)])
        with pytest.raises(ValueError):
            rsu.perception(classes=[99])  # type: ignore[list-item]


async def test_client_must_be_open() -> None:
    client = RoadsideClient("127.0.0.1:1")
    with pytest.raises(ClientStateError, match="use it inside 'async with'"):
        client.perception()
    async with client:
        pass
    with pytest.raises(ClientStateError, match="closed"):
        await client.site()
    with pytest.raises(ClientStateError, match="open a new one"):
        async with client:
            pass


async def test_closing_the_client_ends_its_streams(fake_rsu: FakeRoadside) -> None:
    fake_rsu.publish([make_object(1)])
    fake_rsu.every(50.0)
    rsu = RoadsideClient(fake_rsu.target)
    await rsu.__aenter__()
    received = []

    async def consume() -> None:
        async for frame in rsu.perception():
            received.append(frame)

    task = asyncio.create_task(consume())
    while not received:
        await asyncio.sleep(0.01)
    await rsu.close()
    await asyncio.wait_for(task, 5)  # ends without an error


def test_sync_wrapper_for_blocking_code() -> None:
    async def serve(ready: asyncio.Future[str], stop: asyncio.Event) -> None:
        async with FakeRoadside() as fake:
            fake.publish([make_object(1, x=1.0, object_class=ObjectClass.BUS)])
            fake.every(50.0)
            ready.set_result(fake.target)
            await stop.wait()

    loop = asyncio.new_event_loop()
    import threading

    ready: asyncio.Future[str] = loop.create_future()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(ready, stop),))
    thread.start()
    try:
        target = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(asyncio.shield(ready), 10), loop
        ).result(10)
        with SyncRoadsideClient(target) as rsu:
            assert rsu.site().rsu_id == "fake-rsu"
            stream = rsu.perception(classes=[ObjectClass.BUS], next_timeout_s=5)
            frames = [next(stream) for _ in range(3)]
            stream.close()
        assert [[o.object_class for o in f.objects] for f in frames] == [[ObjectClass.BUS]] * 3
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        with contextlib.suppress(Exception):
            loop.close()


def test_reconnect_waits_grow_to_the_cap_and_a_policy_that_cannot_back_off_says_why() -> None:
    waits = ReconnectPolicy(initial_backoff_s=0.1, max_backoff_s=0.5, jitter=0.0).delays()
    assert [round(w, 3) for w, _ in zip(waits, range(5), strict=False)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    with pytest.raises(ValueError, match="initial_s <= max_s"):
        ReconnectPolicy(initial_backoff_s=2.0, max_backoff_s=1.0)
    with pytest.raises(ValueError, match="jitter"):
        ReconnectPolicy(jitter=1.5)
