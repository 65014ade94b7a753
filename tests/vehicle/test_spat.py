"""A vehicle's SPaT stream against a real gRPC server (FakeRoadside runs the RSU's own)."""

from __future__ import annotations

import asyncio

import pytest

from protos.vicoop.v1 import roadside_pb2
from vehicle import ReconnectPolicy, RoadsideClient, SubscriptionRejected
from vehicle.testing import FakeRoadside
from vicoop.model import NS_PER_S
from vicoop.serving.spatfeed import SpatFeed
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

FAST = ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, jitter=0.0)
T0 = 1_764_746_434_000_000_000


def spat(intersection_id: str, revision: int, green_group: int = 1) -> Spat:
    green = MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED
    red = MovementPhaseState.STOP_AND_REMAIN
    return Spat(
        intersection_id,
        T0 + revision * NS_PER_S,
        revision,
        ControlMode.FIXED_TIME,
        (
            MovementEvent(
                green_group, green, T0 + 10 * NS_PER_S, T0 + 10 * NS_PER_S, T0 + 10 * NS_PER_S, 1.0
            ),
            MovementEvent(green_group + 1, red, T0 + 14 * NS_PER_S, T0 + 30 * NS_PER_S, None),
        ),
    )


async def test_a_vehicle_gets_the_spat_it_asks_for_and_every_change() -> None:
    async with (
        FakeRoadside(intersections=["j1", "j2"]) as rsu,
        RoadsideClient(rsu.target, reconnect=FAST) as client,
    ):
        everything = aiter(client.spat())
        only_j2 = aiter(client.spat(["j2"]))
        rsu.publish_spat([spat("j1", 1), spat("j2", 1, green_group=3)])
        first = await asyncio.wait_for(anext(everything), 5)
        assert first.rsu_id == "fake-rsu"
        assert set(first.intersections) == {"j1", "j2"}
        assert first.intersections["j1"] == spat("j1", 1)  # every field, as sent
        mine = await asyncio.wait_for(anext(only_j2), 5)
        assert set(mine.intersections) == {"j2"}
        assert mine.intersections["j2"].movements[0].signal_group == 3
        rsu.publish_spat([spat("j1", 2)])  # j2 keeps its last SPaT
        second = await asyncio.wait_for(anext(everything), 5)
        assert second.sequence == first.sequence + 1
        assert second.intersections["j1"].revision == 2
        assert second.intersections["j2"] == spat("j2", 1, green_group=3)


async def test_an_intersection_the_rsu_does_not_serve_is_refused_by_name() -> None:
    async with (
        FakeRoadside(intersections=["j1"]) as rsu,
        RoadsideClient(rsu.target, reconnect=FAST) as client,
    ):
        with pytest.raises(SubscriptionRejected, match="'nowhere' is not an intersection"):
            async for _ in client.spat(["j1", "nowhere"]):
                pass


async def test_the_stream_comes_back_after_an_rsu_restart_and_counts_what_it_missed() -> None:
    async with (
        FakeRoadside(intersections=["j1"]) as rsu,
        RoadsideClient(rsu.target, reconnect=FAST) as client,
    ):
        stream = client.spat()
        updates = aiter(stream)
        rsu.publish_spat([spat("j1", 1)])
        await asyncio.wait_for(anext(updates), 5)
        await rsu.restart(down_for_s=0.2)
        for revision in (2, 3, 4):
            rsu.publish_spat([spat("j1", revision)])
        update = await asyncio.wait_for(anext(updates), 5)
        assert update.intersections["j1"].revision == 4  # the newest, not a queue
        assert stream.stats.reconnects >= 1
        assert stream.stats.missed == update.sequence - 2


def test_the_joined_response_is_the_canonical_serialization() -> None:
    feed = SpatFeed("rsu-7", ["a", "b", "c"])
    feed.publish([spat("c", 1), spat("a", 2)])
    data = feed.response(("c", "a"))
    parsed = roadside_pb2.StreamSpatResponse.FromString(data)
    assert [s.intersection_id for s in parsed.intersections] == ["c", "a"]
    assert parsed.SerializeToString() == data  # what every decoder reads, not a merge of parts
