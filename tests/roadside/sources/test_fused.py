"""The fused sensor source: inputs -> tracker -> snapshot, sensor health, the daemon over UDP."""

from __future__ import annotations

import asyncio
import math
import socket

import cv2
import numpy as np
import pytest

from roadside.calibration.camera import camera_matrix, camera_rotation
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.ingest import CameraFrame, RadarCycle, udp_radar
from roadside.ingest import camera as camera_format
from roadside.sources import build_source
from roadside.sources.fused import SensorFusion
from roadside.sources.fused_config import CameraSensorConfig, SensorsSourceConfig
from vicoop.config import validate
from vicoop.model import NS_PER_S, ObjectClass, SensorHealth

T0 = 1_700_000_000 * NS_PER_S
DT = NS_PER_S // 20


def truth(i: int) -> tuple[float, float]:
    return (10.0 + 5.0 * i * DT / NS_PER_S, 10.0)


def radar_cycle(i: int) -> RadarCycle:
    x, y = truth(i)
    dx, dy = x + 15.0, y + 15.0
    rng = math.hypot(dx, dy)
    return RadarCycle(
        "radar-1",
        i,
        T0 + i * DT,
        np.array([math.hypot(rng, 1.0)]),
        np.array([math.atan2(dy, dx) - math.pi / 4]),
        np.array([5.0 * dx / rng]),
        np.zeros(1),
        np.zeros(1, dtype=np.int64),
    )


def camera_box(cam: CameraSensorConfig, xy: tuple[float, float]) -> list[float]:
    e = cam.calibration.extrinsics
    assert e is not None
    r_cw = camera_rotation(e).T
    ray = np.array([xy[0] - e.x_m, xy[1] - e.y_m])
    contact = np.array(xy) - ray / np.linalg.norm(ray) * (4.5 + 1.8) / math.pi
    rvec, _ = cv2.Rodrigues(r_cw)
    px, _ = cv2.projectPoints(
        np.array([[*contact, 0.0]]),
        rvec,
        -r_cw @ np.array([e.x_m, e.y_m, e.z_m]),
        camera_matrix(cam.calibration),
        np.array(cam.calibration.distortion),
    )
    u, v = px.reshape(2)
    return [float(u - 40), float(v - 50), float(u + 40), float(v)]


def camera_frame(cam: CameraSensorConfig, i: int) -> CameraFrame:
    return CameraFrame(
        "camera-1",
        i,
        T0 + i * DT,
        np.array([camera_box(cam, truth(i))]),
        np.array([int(ObjectClass.CAR)]),
        np.array([0.9]),
    )


def test_fusion_and_sensor_dropout() -> None:
    config = SensorsSourceConfig(degraded_after_s=0.25, silent_after_s=1.0)
    source = SensorFusion(config)
    cam = config.cameras[0]
    for i in range(10):
        source.add_radar(radar_cycle(i))
        source.add_camera(camera_frame(cam, i))
        # The ingest adapters record accepted cycles; here we feed the source directly.
        source.ingest_stats()["radar-1"].last_received_ns = T0 + i * DT
        source.ingest_stats()["camera-1"].last_received_ns = T0 + i * DT
        source.ingest_stats()["camera-1"].last_accepted_ns = T0 + i * DT
        snap = source.snapshot(T0 + i * DT + DT // 2)
    assert len(snap.objects) == 1
    obj = snap.objects[0]
    assert obj.object_class is ObjectClass.CAR
    assert obj.sensor_ids == ("radar-1", "camera-1")
    assert math.hypot(obj.position.x - truth(9)[0] - 0.125, obj.position.y - truth(9)[1]) < 1.0
    assert {s.sensor_id: s.health for s in snap.sensors} == {
        "radar-1": SensorHealth.OK,
        "camera-1": SensorHealth.OK,
    }

    # The camera falls silent; the radar keeps the track going.
    for i in range(10, 40):
        source.add_radar(radar_cycle(i))
        source.ingest_stats()["radar-1"].last_received_ns = T0 + i * DT
        snap = source.snapshot(T0 + i * DT)
        health = {s.sensor_id: s.health for s in snap.sensors}
        age = (i - 9) * DT / NS_PER_S
        expected = (
            SensorHealth.OK
            if age <= 0.25
            else SensorHealth.DEGRADED
            if age <= 1.0
            else SensorHealth.SILENT
        )
        assert health == {"radar-1": SensorHealth.OK, "camera-1": expected}
        assert [o.track_id for o in snap.objects] == [obj.track_id]
    assert (
        math.hypot(
            snap.objects[0].position.x - truth(39)[0], snap.objects[0].position.y - truth(39)[1]
        )
        < 1.0
    )
    last_camera = {s.sensor_id: s.last_measurement_ns for s in snap.sensors}["camera-1"]
    assert last_camera == T0 + 9 * DT


def test_never_heard_sensors_are_silent_and_nothing_is_published() -> None:
    source = SensorFusion(SensorsSourceConfig())
    snap = source.snapshot(T0)
    assert snap.objects == ()
    assert [(s.sensor_id, s.health) for s in snap.sensors] == [
        ("radar-1", SensorHealth.SILENT),
        ("camera-1", SensorHealth.SILENT),
    ]


def test_config_selects_the_sensors_source_and_rejects_bad_input() -> None:
    cfg = validate(
        RsuConfig,
        {
            "source": {
                "kind": "sensors",
                "radars": [{"sensor_id": "r", "input": {"port": 0}}],
                "cameras": [],
            }
        },
        "rsu.yaml",
    )
    assert isinstance(build_source(cfg.source), SensorFusion)
    assert RsuConfig().source.kind == "synthetic"
    with pytest.raises(Exception, match=r"rsu.yaml: source.sensors.radars.0.input.udp.port"):
        validate(
            RsuConfig,
            {"source": {"kind": "sensors", "radars": [{"input": {"port": 70000}}]}},
            "rsu.yaml",
        )
    with pytest.raises(Exception, match="sensor ids must be unique"):
        validate(
            RsuConfig,
            {
                "source": {
                    "kind": "sensors",
                    "radars": [{"sensor_id": "a"}],
                    "cameras": [{"sensor_id": "a"}],
                }
            },
            "rsu.yaml",
        )


async def test_daemon_fuses_udp_inputs_and_publishes_tracks() -> None:
    config = validate(RsuConfig, {"server": {"port": 0}, "source": {"kind": "sensors"}}, "rsu.yaml")
    cam = config.source.cameras[0]  # type: ignore[union-attr]
    now = [T0 + 5 * DT]
    async with RoadsideDaemon(config, clock=lambda: now[0]) as daemon:
        source = daemon.source
        assert isinstance(source, SensorFusion)
        ports = source.ports
        assert set(ports) == {"radar-1", "camera-1"} and all(p > 0 for p in ports.values())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\x00garbage", ("127.0.0.1", ports["radar-1"]))
            for i in range(6):
                c = radar_cycle(i)
                s.sendto(
                    udp_radar.encode_arrays(
                        1, i, c.measured_at_ns, c.ranges_m, c.azimuths_rad, c.radial_speeds_mps
                    ),
                    ("127.0.0.1", ports["radar-1"]),
                )
                f = camera_frame(cam, i)
                s.sendto(
                    camera_format.encode("camera-1", i, f.measured_at_ns, f.boxes, ["car"], [0.9]),
                    ("127.0.0.1", ports["camera-1"]),
                )
        stats = source.ingest_stats()
        for _ in range(300):
            if stats["radar-1"].accepted == 6 and stats["camera-1"].accepted == 6:
                break
            await asyncio.sleep(0.01)
        assert (stats["radar-1"].accepted, stats["camera-1"].accepted) == (6, 6)
        assert dict(stats["radar-1"].rejected) == {"truncated": 1}
        frame = daemon.publish_at(T0 + 5 * DT)
        assert len(frame.objects) == 1
        assert frame.objects[0].valid_at_ns == T0 + 5 * DT
        assert {s.sensor_id: s.health for s in frame.sensors} == {
            "radar-1": SensorHealth.OK,  # a bad datagram is counted, but real data flows
            "camera-1": SensorHealth.OK,
        }
