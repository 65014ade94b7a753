"""A vehicle's MAP from a real gRPC server (FakeRoadside runs the RSU's own)."""

from __future__ import annotations

import pytest

from vehicle import RoadsideClient, SubscriptionRejected
from vehicle.testing import FakeRoadside, crossroads_map


async def test_a_vehicle_gets_the_map_of_the_intersections_it_asks_for() -> None:
    one, two = crossroads_map("j1"), crossroads_map("j2", arm_m=60.0)
    async with FakeRoadside(maps=[one, two]) as rsu, RoadsideClient(rsu.target) as client:
        everything = await client.map()
        only_two = await client.map(["j2"])
    assert everything == {"j1": one, "j2": two}  # every lane, stop line, group and crosswalk
    assert only_two == {"j2": two}
    assert only_two["j2"].lane(1).centre_line[0] == (-1.75, 60.0)
    assert everything["j1"].conflicting(2) == {4, 6}


async def test_an_intersection_without_a_map_is_refused_by_name() -> None:
    async with (
        FakeRoadside(maps=[crossroads_map("j1")]) as rsu,
        RoadsideClient(rsu.target) as client,
    ):
        with pytest.raises(SubscriptionRejected, match=r"'nowhere' has no MAP on this RSU \(j1\)"):
            await client.map(["j1", "nowhere"])
