"""Vehicle identity through the real pieces: the twin issues a signed credential over its API, an
RSU daemon that requires identities takes a vehicle's reports only under the id and permits
that credential carries.

The attack this closes: any client could report any ``vehicle_id`` and permit at another
vehicle's position and have that label shown on the other vehicle's track to everyone.

Needs: an MQTT broker and a database, as every cloud test.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.sources.base import FrameSource, Snapshot
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, make_object
from vehicle import ObjectClass, RoadsideClient, Size3, VehicleReport
from vicoop.signing import (
    CommandSigner,
    VehicleCredential,
    issue_credential,
    load_private_key,
    write_key_pair,
)

OPERATOR = "operator-token-identity-001"
LAT, LON = 50.9375, 6.9603


class ParkedCar(FrameSource):
    def snapshot(self, now_ns: int) -> Snapshot:
        return Snapshot((make_object(7, x=0.5, y=0.0, valid_at_ns=now_ns),))


def report(vehicle_id: str, permit: str = "") -> VehicleReport:
    return VehicleReport(
        vehicle_id,
        ObjectClass.CAR,
        LAT,
        LON,
        0.0,
        0.0,
        Size3(4.5, 1.8, 1.5),
        time.time_ns(),
        permit_id=permit,
    )


def issue(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url + "/api/v1/vehicle-credentials",
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {OPERATOR}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        out: dict[str, object] = json.loads(response.read())
        return out


def rsu_config(rsu_id: str, required: bool) -> RsuConfig:
    return RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "origin": {"latitude_deg": LAT, "longitude_deg": LON},
            "server": {"port": 0, "grace_period_s": 0.5},
            "reports": {"max_age_s": 60, "require_vehicle_identity": required},
            "cloud": {"command_keys": RSU_COMMAND_KEYS},
        }
    )


async def test_reports_are_taken_only_under_the_identity_and_permits_the_credential_carries(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=OPERATOR, name="otto", role="operator"),),
    )
    async with (
        CloudService(config, schema=db_url[1]) as service,
        RoadsideDaemon(rsu_config(rsu_id, required=True), source=ParkedCar()) as daemon,
    ):
        issued = await asyncio.to_thread(
            issue, service.url, {"vehicle_id": "veh-1", "permits": ["AV-17"], "ttl_s": 600}
        )
        assert issued["vehicle_id"] == "veh-1" and issued["permits"] == ["AV-17"]
        credential = str(issued["credential"])

        # No credential: refused before any report is read.
        async with RoadsideClient(daemon.target) as anonymous:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await anonymous.report_state([report("veh-1", "AV-17")])
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED

        # A credential signed by any other key: refused.
        write_key_pair(tmp_path / "forger.pem", tmp_path / "forger.pub.pem")
        forger = CommandSigner(load_private_key(tmp_path / "forger.pem", "k"), "twin-1")
        forged = issue_credential(
            forger, VehicleCredential("veh-1", ("AV-17",), time.time_ns() + 10**12)
        )
        async with RoadsideClient(daemon.target, credential=forged) as impostor:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await impostor.report_state([report("veh-1")])
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert "bad_signature" in (refused.value.details() or "")

        # The twin's credential: its own id with its permit is taken; another id, or a permit
        # it does not hold, is rejected with the reason.
        async with RoadsideClient(daemon.target, credential=credential) as vehicle:
            own = await vehicle.report_state([report("veh-1", "AV-17")])
            assert (own.accepted, own.rejected) == (1, 0)
            other = await vehicle.report_state([report("veh-2"), report("veh-1", "AV-99")])
            assert (other.accepted, other.rejected) == (0, 2)
            assert "is not this stream's vehicle 'veh-1'" in other.rejections[0]
            assert "permit_id 'AV-99' is not one" in other.rejections[1]
        rejected = daemon.reports.stats.rejected
        assert rejected["not_your_id"] == 1 and rejected["permit_not_held"] == 1
        assert rejected["no_identity"] == 1 and rejected["credential_bad_signature"] == 1
        audit = service.store.audit_log()
        assert [(a["action"], a["target"], a["actor"]) for a in audit] == [
            ("vehicle_credential.issue", "veh-1", "otto")
        ]


async def test_an_rsu_that_does_not_require_identities_still_holds_a_credential_to_its_word(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    signer = CommandSigner(load_private_key(TWIN_KEY, "k"), "twin-1")
    credential = issue_credential(signer, VehicleCredential("veh-1", (), time.time_ns() + 10**12))
    async with RoadsideDaemon(rsu_config("rsu-open", required=False), source=ParkedCar()) as daemon:
        async with RoadsideClient(daemon.target) as anonymous:
            legacy = await anonymous.report_state([report("veh-5", "AV-1")])
            assert (legacy.accepted, legacy.rejected) == (1, 0)  # unchecked, as before
        async with RoadsideClient(daemon.target, credential=credential) as vehicle:
            held = await vehicle.report_state([report("veh-2")])
            assert held.rejected == 1 and "not this stream's vehicle" in held.rejections[0]
