"""Cameras on pixels inside the real RSU daemon: a camera whose model is missing or whose stream
is dead is SILENT with its reason while the radar keeps publishing; one on a real video is OK."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import numpy as np

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.ingest import udp_radar
from roadside.sources.fused import SensorFusion
from tests.roadside.camera.conftest import fixed_output_model
from vicoop.config import validate
from vicoop.model import SensorHealth


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/stream.mjpg"


def config(cameras: list[dict[str, object]]) -> RsuConfig:
    return validate(
        RsuConfig,
        {
            "server": {"port": 0, "grace_period_s": 0.2},
            "source": {"kind": "sensors", "radars": [{}], "cameras": cameras},
        },
        "rsu.yaml",
    )


async def feed_radar(source: SensorFusion, cycles: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(cycles):
            s.sendto(
                udp_radar.encode_arrays(
                    1, i, time.time_ns(), np.array([20.0]), np.array([0.1]), np.array([3.0])
                ),
                ("127.0.0.1", source.ports["radar-1"]),
            )
            await asyncio.sleep(0.02)


async def test_failing_cameras_are_silent_with_their_reason_and_the_radar_publishes(
    tmp_path: Path,
) -> None:
    model = fixed_output_model(tmp_path / "v8.onnx", np.zeros((1, 84, 84)))
    url = dead_url()
    cameras = [
        {
            "sensor_id": "cam-nomodel",
            "input": {"kind": "pixels", "url": url, "model": str(tmp_path / "no.onnx")},
        },
        {
            "sensor_id": "cam-dead",
            "input": {
                "kind": "pixels",
                "url": url,
                "model": str(model),
                "reconnect_initial_s": 0.05,
                "reconnect_max_s": 0.2,
                "open_timeout_s": 2.0,
            },
        },
    ]
    async with RoadsideDaemon(config(cameras)) as daemon:
        source = daemon.source
        assert isinstance(source, SensorFusion)
        await feed_radar(source, 5)
        for _ in range(3000):  # a hang guard
            reasons = source.health_reasons(time.time_ns())
            if (
                reasons["cam-dead"]
                and reasons["cam-nomodel"]
                and source.ingest_stats()["radar-1"].accepted == 5
            ):
                break
            await asyncio.sleep(0.01)
        frame = daemon.publish_at(time.time_ns())
        health = {s.sensor_id: s.health for s in frame.sensors}
        assert health == {
            "radar-1": SensorHealth.OK,
            "cam-nomodel": SensorHealth.SILENT,
            "cam-dead": SensorHealth.SILENT,
        }
        assert len(frame.objects) == 1  # the radar's object goes on
        reasons = source.health_reasons(time.time_ns())
        assert reasons["cam-nomodel"] == f"detector model {tmp_path / 'no.onnx'}: no such file"
        assert reasons["cam-dead"] == f"cannot open {url}"
        assert reasons["radar-1"] == ""


async def test_a_camera_on_a_real_video_is_ok_and_fused(yolox_nano: Path, vtest: Path) -> None:
    cameras = [{"input": {"kind": "pixels", "url": str(vtest), "model": str(yolox_nano)}}]
    async with RoadsideDaemon(config(cameras)) as daemon:
        source = daemon.source
        assert isinstance(source, SensorFusion)
        stats = source.ingest_stats()["camera-1"]
        for _ in range(6000):  # a hang guard
            if stats.accepted >= 3:
                break
            await asyncio.sleep(0.01)
        assert stats.accepted >= 3
        frame = daemon.publish_at(time.time_ns())
        assert {s.sensor_id: s.health for s in frame.sensors}["camera-1"] is SensorHealth.OK
        assert source.health_reasons(time.time_ns())["camera-1"] == ""
