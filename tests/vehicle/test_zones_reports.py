"""Pilot zones and vehicle reports through the vehicle library against a real server
(``FakeRoadside`` on a free port): a reported vehicle's track carries its id, implausible and
id-stealing reports are rejected and counted, zones stream to the vehicle (also across an RSU
restart) and ``rules_at`` answers for a position and time."""

from __future__ import annotations

import asyncio
import time

import grpc
import pymap3d

from protos.vicoop.v1 import roadside_pb2
from tests.conftest import make_object
from vehicle import (
    ObjectClass,
    PilotZones,
    ReconnectPolicy,
    RoadsideClient,
    Size3,
    SyncRoadsideClient,
    TimeWindow,
    VehicleReport,
    Zone,
    ZoneRules,
)
from vehicle.client import _encode_report
from vehicle.testing import DEFAULT_ORIGIN, FakeRoadside
from vicoop.model import NS_PER_S
from vicoop.serving.reports import ReportLimits

# About 70 m x 110 m around the fake's origin, and a second zone north of it.
AROUND = ((6.9598, 50.9370), (6.9608, 50.9370), (6.9608, 50.9380), (6.9598, 50.9380))
NORTH = ((6.9598, 50.9390), (6.9608, 50.9390), (6.9608, 50.9400), (6.9598, 50.9400))
FAST = ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=0.2)


def wgs84(x: float, y: float) -> tuple[float, float]:
    o = DEFAULT_ORIGIN
    lat, lon, _ = pymap3d.enu2geodetic(x, y, 0.0, o.latitude_deg, o.longitude_deg, o.altitude_m)
    return float(lat), float(lon)


def me(
    x: float, y: float, *, vid: str = "veh-42", speed: float = 0.0, t: int | None = None
) -> VehicleReport:
    lat, lon = wgs84(x, y)
    return VehicleReport(
        vehicle_id=vid,
        vehicle_class=ObjectClass.CAR,
        latitude_deg=lat,
        longitude_deg=lon,
        speed_mps=speed,
        heading_rad=0.0,
        size=Size3(4.5, 1.8, 1.5),
        measured_at_ns=time.time_ns() if t is None else t,
        permit_id="AV-17",
    )


async def until(condition: object, what: str, limit_s: float = 30.0) -> None:
    """Wait for ``condition`` (a hang guard, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


async def test_a_reported_vehicle_s_track_carries_its_id() -> None:
    # A long association window: a loaded machine may take its time between report and frame.
    fake = FakeRoadside(report_limits=ReportLimits(associate_for_s=60.0, max_age_s=60.0))
    async with fake as fake_rsu, RoadsideClient(fake.target) as rsu, rsu.reporter() as reporter:
        reporter.send(me(20.0, 1.0))
        await until(lambda: fake_rsu.accepted_reports, "the report accepted")
        fake_rsu.publish([make_object(1, x=-30.0), make_object(2, x=20.5, y=1.2)])
        fake_rsu.every(20.0)
        async for frame in rsu.perception():
            if any(o.vehicle_id for o in frame.objects):
                break
        assert {o.track_id: o.vehicle_id for o in frame.objects} == {1: "", 2: "veh-42"}
    assert reporter.stats.accepted == 1 and reporter.stats.rejected == 0
    assert fake_rsu.accepted_reports[0].permit_id == "AV-17"


async def test_implausible_and_id_stealing_reports_are_rejected_and_counted(
    fake_rsu: FakeRoadside,
) -> None:
    now = time.time_ns()
    async with RoadsideClient(fake_rsu.target) as rsu, rsu.reporter() as owner:
        owner.send(me(0.0, 0.0, t=now))
        await until(lambda: fake_rsu.reports.stats.accepted == 1, "the owner's report accepted")
        summary = await rsu.report_state(
            [
                me(5.0, 0.0, vid="veh-7", t=now),  # fine
                me(6.0, 0.0, vid="veh-7", t=now + NS_PER_S // 10, speed=300.0),  # 300 m/s
                me(2500.0, 0.0, vid="veh-7", t=now + NS_PER_S // 5),  # kilometres away
                me(400.0, 0.0, vid="veh-7", t=now + NS_PER_S // 5),  # a 395 m jump in 0.2 s
            ]
        )
        stolen = await rsu.report_state([me(0.0, 0.0, vid="veh-42", t=now + 1)])
    assert (summary.accepted, summary.rejected) == (1, 3)
    assert summary.rejections[0].startswith("report[1]: speed_mps 300")
    assert "from the RSU" in summary.rejections[1] and "jumped" in summary.rejections[2]
    assert (stolen.accepted, stolen.rejected) == (0, 1)
    assert "reported by another live stream" in stolen.rejections[0]
    assert dict(fake_rsu.reports.stats.rejected) == {
        "speed": 1,
        "distance": 1,
        "jump": 1,
        "id_claimed": 1,
    }
    assert [r.vehicle_id for r in fake_rsu.accepted_reports] == ["veh-42", "veh-7"]


async def test_malformed_report_messages_are_counted_and_skipped(fake_rsu: FakeRoadside) -> None:
    good = roadside_pb2.ReportVehicleStateRequest()
    async with grpc.aio.insecure_channel(fake_rsu.target) as channel:
        method = channel.stream_unary(
            "/vicoop.v1.Roadside/ReportVehicleState",
            request_serializer=None,
            response_deserializer=roadside_pb2.ReportVehicleStateResponse.FromString,
        )
        response = await method(
            iter([b"\xff\xff", good.SerializeToString(), _encode_report(me(1, 1))])
        )
    assert (response.accepted, response.rejected) == (1, 2)
    assert response.rejections[0].startswith("report[0]: not a valid")
    assert response.rejections[1] == "report[1] is missing"
    assert fake_rsu.reports.stats.rejected["malformed"] == 2


async def test_zones_stream_to_the_vehicle_and_rules_at_answers() -> None:
    async with FakeRoadside() as fake, RoadsideClient(fake.target, reconnect=FAST) as rsu:
        updates = aiter(rsu.zones())
        first = await anext(updates)
        assert isinstance(first, PilotZones) and len(first) == 0
        assert first.rules_at(*wgs84(0, 0)).zones == ()

        night = TimeWindow(22 * 60, 6 * 60)  # 22:00-06:00 UTC
        fake.set_zones(
            [
                Zone("school", 1, "school street", AROUND, ZoneRules(speed_limit_mps=8.0)),
                Zone(
                    "night",
                    1,
                    "night closure",
                    AROUND,
                    ZoneRules(speed_limit_mps=5.0, closed=True, time_windows=(night,)),
                ),
                Zone(
                    "av-only",
                    1,
                    "automated pilot",
                    NORTH,
                    ZoneRules(allowed_permit_ids=frozenset({"AV-17"}), min_headway_s=1.5),
                ),
            ]
        )
        zones = await anext(updates)
        assert sorted(zones.zones) == ["av-only", "night", "school"]
        noon = 1_700_049_600 * NS_PER_S  # 2023-11-15 12:00 UTC
        midnight = 1_700_006_400 * NS_PER_S  # 2023-11-15 00:00 UTC
        here = zones.rules_at(*wgs84(0, 0), now_ns=noon)
        assert [z.zone_id for z in here.zones] == ["school"]
        assert here.speed_limit_mps == 8.0 and not here.closed
        assert here.allows(ObjectClass.CAR)
        at_night = zones.rules_at(*wgs84(0, 0), now_ns=midnight)
        assert at_night.speed_limit_mps == 5.0 and at_night.closed
        assert not at_night.allows(ObjectClass.CAR)
        north = zones.rules_at(50.9395, 6.9603, now_ns=noon)
        assert [z.zone_id for z in north.zones] == ["av-only"] and north.min_headway_s == 1.5
        assert north.allows(ObjectClass.CAR, permit_id="AV-17")
        assert not north.allows(ObjectClass.CAR, permit_id="AV-99")
        assert zones.rules_at(50.95, 6.99, now_ns=noon).speed_limit_mps is None

        # The RSU restarts; the stream reconnects and gets the set again.
        await fake.restart()
        again = await anext(updates)
        assert sorted(again.zones) == ["av-only", "night", "school"]
        fake.set_zones([])
        assert len(await anext(updates)) == 0
        await updates.aclose()  # type: ignore[attr-defined]


async def test_sync_client_streams_zones_and_reports() -> None:
    async with FakeRoadside() as fake:
        fake.set_zones([Zone("school", 1, "school street", AROUND, ZoneRules(speed_limit_mps=8.0))])

        def use() -> tuple[float | None, int]:
            with SyncRoadsideClient(fake.target) as rsu:
                zones = next(iter(rsu.zones(next_timeout_s=30)))
                limit = zones.rules_at(*wgs84(0, 0)).speed_limit_mps
                reporter = rsu.reporter()
                reporter.send(me(3.0, 3.0))
                stats = reporter.close()
                return limit, stats.accepted

        assert await asyncio.to_thread(use) == (8.0, 1)


async def test_a_reporter_reopens_its_stream_after_the_rsu_restarts() -> None:
    async with (
        FakeRoadside() as fake,
        RoadsideClient(fake.target, reconnect=FAST) as rsu,
        rsu.reporter() as reporter,
    ):
        reporter.send(me(0.0, 0.0))
        await until(lambda: len(fake.accepted_reports) == 1, "the first report accepted")
        await fake.restart()
        await until(lambda: reporter.stats.reconnects >= 1, "the reporter noticed the restart")
        reporter.send(me(0.5, 0.0))
        await until(lambda: len(fake.accepted_reports) == 2, "a report accepted after it")
    # The stream the restart broke lost its answer; the one after it was answered at close.
    assert reporter.stats.accepted >= 1 and reporter.stats.rejected == 0
