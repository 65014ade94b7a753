"""End to end through the real pieces: the cloud twin (broker, store, API on free ports), an RSU
daemon with its cloud link, a vehicle client.

A vehicle reports itself → the RSU's track carries its id and the report reaches the twin; a
second stream claiming its id is rejected and the twin gets an event saying so; an operator
creates a closed zone over it through the API → the twin sends it to the RSU whose
coverage it touches → the vehicle receives it and ``rules_at`` says closed → the RSU sees the
vehicle inside the closed zone, under a permit the zone does not accept → violation events naming
the vehicle reach the twin."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.sources.base import FrameSource, Snapshot
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, make_object, until
from vehicle import ObjectClass, ReconnectPolicy, RoadsideClient, Size3, VehicleReport
from vicoop.cloudmodel import EventKind

from .test_api import OPERATOR, call

LAT, LON = 50.9375, 6.9603  # the RSU's origin
CLOSED_SQUARE = [
    [6.9598, 50.9370],
    [6.9608, 50.9370],
    [6.9608, 50.9380],
    [6.9598, 50.9380],
    [6.9598, 50.9370],
]


class ParkedCar(FrameSource):
    """One car standing at the origin as track 7, and a pedestrian far off as track 8."""

    def snapshot(self, now_ns: int) -> Snapshot:
        return Snapshot(
            (
                make_object(7, x=0.5, y=0.0, valid_at_ns=now_ns),
                make_object(8, x=400.0, object_class=ObjectClass.PEDESTRIAN, valid_at_ns=now_ns),
            )
        )


async def test_zone_from_the_api_reaches_the_vehicle_and_a_violation_reaches_the_twin(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=OPERATOR, name="otto", role="operator"),),
        command_resend_s=0.5,
    )
    rsu_config = RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "origin": {"latitude_deg": LAT, "longitude_deg": LON},
            "server": {"port": 0, "grace_period_s": 0.5},
            "publish": {"rate_hz": 20},
            # Generous windows: a loaded machine may take its time between report and frame.
            "reports": {"max_age_s": 60, "associate_for_s": 60, "id_hold_s": 600},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
                "status_interval_s": 0.3,
                "resend_after_s": 0.5,
            },
        }
    )
    fast = ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=0.5)
    async with (
        CloudService(config, schema=db_url[1]) as service,
        RoadsideDaemon(rsu_config, source=ParkedCar()) as daemon,
        RoadsideClient(daemon.target, reconnect=fast) as rsu,
        rsu.reporter() as reporter,
    ):
        await until(lambda: rsu_id in service.twin.rsus, "the RSU known to the twin")
        reporter.send(
            VehicleReport(
                "veh-1",
                ObjectClass.CAR,
                LAT,
                LON,
                0.0,
                0.0,
                Size3(4.5, 1.8, 1.5),
                time.time_ns(),
                permit_id="AV-17",
            )
        )
        async for frame in rsu.perception():
            tagged = {o.track_id: o.vehicle_id for o in frame.objects}
            if tagged.get(7):
                break
        assert tagged == {7: "veh-1", 8: ""}
        await until(lambda: "veh-1" in service.twin.vehicle_reports, "the report in the twin")
        assert service.twin.vehicle_reports["veh-1"][0] == rsu_id
        status, listed = await asyncio.to_thread(call, service, "GET", "/api/v1/vehicles", OPERATOR)
        assert status == 200
        (veh,) = [v for v in listed if v["vehicle_id"] == "veh-1"]
        assert (veh["rsu_id"], veh["vehicle_class"], veh["permit_id"]) == (rsu_id, "car", "AV-17")
        assert (veh["latitude_deg"], veh["longitude_deg"], veh["length_m"]) == (LAT, LON, 4.5)

        # Another stream claiming veh-1: rejected, counted, and the operators hear of it.
        thief = await rsu.report_state(
            [
                VehicleReport(
                    "veh-1",
                    ObjectClass.CAR,
                    LAT,
                    LON,
                    0.0,
                    0.0,
                    Size3(4.5, 1.8, 1.5),
                    time.time_ns(),
                )
            ]
        )
        assert (thief.accepted, thief.rejected) == (0, 1)
        assert daemon.reports.stats.rejected["id_claimed"] == 1
        await until(
            lambda: any(
                e.kind is EventKind.VEHICLE_REPORT_REJECTED and e.vehicle_id == "veh-1"
                for _, _, e in service.twin.events
            ),
            "the rejection reported to the twin",
        )

        updates = aiter(rsu.zones())
        assert len(await anext(updates)) == 0
        zone = {
            "zone_id": "roadworks",
            "name": "Roadworks",
            "geometry": {"type": "Polygon", "coordinates": [CLOSED_SQUARE]},
            "rules": {"closed": True, "allowed_permit_ids": ["AV-1"]},
        }
        status, created = await asyncio.to_thread(
            call, service, "POST", "/api/v1/zones", OPERATOR, zone
        )
        assert status == 201, created
        zones = await anext(updates)
        while "roadworks" not in zones.zones:
            zones = await anext(updates)
        here = zones.rules_at(LAT, LON)
        assert here.closed and not here.allows(ObjectClass.CAR, permit_id="AV-17")
        assert [z.zone_id for z in here.zones] == ["roadworks"]
        await updates.aclose()  # type: ignore[attr-defined]

        def violation() -> bool:
            return any(
                e.kind is EventKind.ZONE_CLOSED_ENTRY and e.vehicle_id == "veh-1"
                for _, _, e in service.twin.events
            )

        await until(violation, "the closed-zone entry of veh-1 in the twin")
        events = [e for _, _, e in service.twin.events if e.kind is EventKind.ZONE_CLOSED_ENTRY]
        # Only the car inside, once (the pedestrian 400 m off is outside the zone).
        assert [(e.track_id, e.zone_id) for e in events] == [(7, "roadworks")]
        # veh-1 drives automated under AV-17, a permit the zone does not accept.
        await until(
            lambda: any(
                e.kind is EventKind.ZONE_PERMIT_NOT_ACCEPTED and e.vehicle_id == "veh-1"
                for _, _, e in service.twin.events
            ),
            "the refused permit of veh-1 in the twin",
        )
    assert reporter.stats.accepted == 1
