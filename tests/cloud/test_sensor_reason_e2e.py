"""Clock skew on the wire, end to end: a camera whose stamps run 10 s ahead sends real UDP
datagrams into a real RSU daemon; the twin's view of the RSU (over the real broker) and the
control API say the camera is degraded for "clock skew", not just the RSU's log."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from pathlib import Path

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.sources.fused import SensorFusion
from roadside.sources.fused_config import SensorsSourceConfig
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, until
from tests.roadside.sources.test_sensor_time import camera_bytes, radar_bytes
from vicoop.model import NS_PER_S, SensorHealth

from .test_api import VIEWER, call


async def test_the_twin_and_the_api_show_a_camera_degraded_for_clock_skew(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=VIEWER, name="vera", role="viewer"),),
    )
    rsu_config = RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "server": {"port": 0, "grace_period_s": 0.5},
            "source": {"kind": "sensors"},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
                "status_interval_s": 0.3,
            },
        }
    )
    assert isinstance(rsu_config.source, SensorsSourceConfig)
    cam = rsu_config.source.cameras[0]
    async with (
        CloudService(config, schema=db_url[1]) as service,
        RoadsideDaemon(rsu_config) as daemon,
    ):
        source = daemon.source
        assert isinstance(source, SensorFusion)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

        async def sensors() -> None:
            t0 = time.time_ns()
            for i in range(100_000):
                now = time.time_ns()
                sock.sendto(radar_bytes(i, t0, now), ("127.0.0.1", source.ports["radar-1"]))
                skewed = camera_bytes(cam, i, t0, now + 10 * NS_PER_S)
                sock.sendto(skewed, ("127.0.0.1", source.ports["camera-1"]))
                await asyncio.sleep(0.05)

        feeding = asyncio.create_task(sensors())
        try:

            def camera_reason() -> str | None:
                view = service.twin.rsus.get(rsu_id)
                camera = [s for s in view.sensors if s.sensor_id == "camera-1"] if view else []
                return camera[0].reason if camera else None

            await until(lambda: camera_reason() == "clock skew", "the twin's camera reason")
            view = service.twin.rsus[rsu_id]
            health = {s.sensor_id: s.health for s in view.sensors}
            assert health["camera-1"] is SensorHealth.DEGRADED
            status, body = await asyncio.to_thread(
                call, service, "GET", f"/api/v1/rsus/{rsu_id}", VIEWER
            )
            assert status == 200
            sensors_out = {s["sensor_id"]: s for s in body["sensors"]}
            assert sensors_out["camera-1"]["health"] == "degraded"
            assert sensors_out["camera-1"]["reason"] == "clock skew"
        finally:
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
            sock.close()
