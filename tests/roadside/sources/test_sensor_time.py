"""Sensor time at the RSU (issue 13, defects 1 and 10): measurement times outside the RSU's
acceptance window are rejected at ingest and never reach the tracker, and sensor health is
judged by receive time and valid measurements, through the real daemon, UDP ports and stream."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import time
from collections.abc import Awaitable, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.ingest import camera as camera_format
from roadside.ingest import udp_radar
from roadside.sources.fused import SensorFusion
from roadside.sources.fused_config import CameraSensorConfig, SensorsSourceConfig
from tests.conftest import until
from tests.roadside.sources.test_fused import DT, camera_frame, radar_cycle, truth
from vehicle import RoadsideClient
from vicoop.config import validate
from vicoop.model import NS_PER_S, PerceptionFrame, SensorHealth

HOUR_NS = 3600 * NS_PER_S


def radar_bytes(
    i: int, t0: int, measured_at_ns: int | None = None, counter: int | None = None
) -> bytes:
    c = radar_cycle(i)
    return udp_radar.encode_arrays(
        1,
        i if counter is None else counter,
        t0 + i * DT if measured_at_ns is None else measured_at_ns,
        c.ranges_m,
        c.azimuths_rad,
        c.radial_speeds_mps,
    )


def camera_bytes(
    cam: CameraSensorConfig, i: int, t0: int, measured_at_ns: int | None = None
) -> bytes:
    f = camera_frame(cam, i)
    return camera_format.encode(
        "camera-1",
        i,
        t0 + i * DT if measured_at_ns is None else measured_at_ns,
        f.boxes,
        ["car"],
        [0.9],
    )


def tracked_truth(frame: PerceptionFrame, i: int) -> bool:
    """Whether ``frame`` holds an object within 3 m of where the car is at step ``i``."""
    x, y = truth(i)
    return any(math.hypot(o.position.x - x, o.position.y - y) < 3.0 for o in frame.objects)


class Rsu:
    """The real daemon, stepped on a clock of the test's own near real time, a vehicle's
    perception stream on it, and a socket that sends sensor datagrams to its ports."""

    def __init__(self, daemon: RoadsideDaemon, now: list[int]) -> None:
        self.daemon = daemon
        self.now = now
        source = daemon.source
        assert isinstance(source, SensorFusion)
        self.source = source
        self.ports = source.ports
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.frames: list[PerceptionFrame] = []

    def fed(self) -> int:
        return sum(s.accepted + s.rejected_total for s in self.source.ingest_stats().values())

    async def send(self, sensor_id: str, data: bytes) -> None:
        """Send one datagram and wait until the daemon has taken it in (accepted or rejected)."""
        before = self.fed()
        self.sock.sendto(data, ("127.0.0.1", self.ports[sensor_id]))
        await until(lambda: self.fed() > before, f"the daemon took in a datagram to {sensor_id}")

    async def publish(self, tick_ns: int) -> PerceptionFrame:
        """Publish the tick and wait until the vehicle has it; returns the frame it received."""
        sent = self.daemon.publish_at(tick_ns)
        await until(
            lambda: any(f.sequence == sent.sequence for f in self.frames),
            f"the vehicle received frame {sent.sequence}",
        )
        return next(f for f in self.frames if f.sequence == sent.sequence)


async def warm_up(rsu: Rsu, tick_ns: int) -> None:
    """Publish until the vehicle's stream is taking frames (it subscribes asynchronously)."""
    while not rsu.frames:
        rsu.daemon.publish_at(tick_ns)
        await asyncio.sleep(0.05)


Body = Callable[[Rsu, CameraSensorConfig, int], Awaitable[None]]


async def run_rsu(body: Body, source: dict[str, object] | None = None) -> None:
    """Run ``body`` against a sensors daemon (``source`` merged into its source configuration)
    whose clock starts at a whole second near now, with a vehicle subscribed."""
    t0 = (time.time_ns() // NS_PER_S) * NS_PER_S
    now = [t0]
    cfg = validate(
        RsuConfig,
        {"server": {"port": 0}, "source": {"kind": "sensors", **(source or {})}},
        "rsu.yaml",
    )
    assert isinstance(cfg.source, SensorsSourceConfig)
    async with RoadsideDaemon(cfg, clock=lambda: now[0], stepped=True) as daemon:
        rsu = Rsu(daemon, now)
        async with RoadsideClient(daemon.target) as client:

            async def collect() -> None:
                async for frame in client.perception():
                    rsu.frames.append(frame)

            task = asyncio.create_task(collect())
            try:
                await asyncio.wait_for(warm_up(rsu, t0 - DT), 30)
                await body(rsu, cfg.source.cameras[0], t0)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                rsu.sock.close()


async def test_one_far_future_datagram_does_not_blind_the_rsu() -> None:
    """Defect 1: after one radar datagram stamped an hour ahead, the real scans keep producing
    the car's track on the vehicle's stream within one second of sensor time."""
    bad_at = 20

    async def body(rsu: Rsu, cam: CameraSensorConfig, t0: int) -> None:
        for i in range(bad_at + 40):
            rsu.now[0] = t0 + i * DT
            if i == bad_at:
                await rsu.send("radar-1", radar_bytes(i, t0, t0 + i * DT + HOUR_NS, counter=5000))
            await rsu.send("radar-1", radar_bytes(i, t0))
            await rsu.send("camera-1", camera_bytes(cam, i, t0))
            frame = await rsu.publish(t0 + i * DT)
            if i >= bad_at + 20:  # one second of sensor time after the bad datagram
                assert tracked_truth(frame, i), f"no track of the car at step {i}: {frame.objects}"
        stats = rsu.source.ingest_stats()["radar-1"]
        assert dict(stats.rejected) == {"future": 1}
        assert stats.accepted == bad_at + 40

    await run_rsu(body)


async def test_junk_on_a_port_does_not_degrade_a_sensor_whose_data_flows() -> None:
    """Defect 10: junk between full real data is counted as rejected, and the sensor stays OK."""

    async def body(rsu: Rsu, cam: CameraSensorConfig, t0: int) -> None:
        for i in range(20):
            rsu.now[0] = t0 + i * DT
            await rsu.send("radar-1", b"\x00junk")
            await rsu.send("camera-1", b"{not json")
            await rsu.send("radar-1", radar_bytes(i, t0))
            await rsu.send("camera-1", camera_bytes(cam, i, t0))
            frame = await rsu.publish(t0 + i * DT)
            assert {s.sensor_id: s.health for s in frame.sensors} == {
                "radar-1": SensorHealth.OK,
                "camera-1": SensorHealth.OK,
            }, f"step {i}"
        stats = rsu.source.ingest_stats()
        assert dict(stats["radar-1"].rejected) == {"truncated": 20}
        assert dict(stats["camera-1"].rejected) == {"bad_json": 20}
        assert tracked_truth(frame, 19)

    await run_rsu(body)


async def test_a_sensor_with_a_skewed_clock_is_degraded_for_clock_skew() -> None:
    """A camera whose every stamp is 10 s ahead is rejected as ``future`` and shown DEGRADED
    with the reason clock skew (not OK, as when health was judged by its own stamps), on the
    vehicle's stream too."""

    async def body(rsu: Rsu, cam: CameraSensorConfig, t0: int) -> None:
        for i in range(10):
            rsu.now[0] = t0 + i * DT
            await rsu.send("radar-1", radar_bytes(i, t0))
            await rsu.send("camera-1", camera_bytes(cam, i, t0, t0 + i * DT + 10 * NS_PER_S))
            frame = await rsu.publish(t0 + i * DT)
        health = {s.sensor_id: s.health for s in frame.sensors}
        assert health == {"radar-1": SensorHealth.OK, "camera-1": SensorHealth.DEGRADED}
        assert rsu.source.health_reasons(rsu.now[0])["camera-1"] == "clock skew"
        # The vehicle's frame says why, too.
        assert {s.sensor_id: s.reason for s in frame.sensors} == {
            "radar-1": "",
            "camera-1": "clock skew",
        }
        assert dict(rsu.source.ingest_stats()["camera-1"].rejected) == {"future": 10}

    await run_rsu(body)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bad_at=st.integers(0, 30),
    stamp=st.integers(1, 2**63 - 1),
    sensor=st.sampled_from(["radar-1", "camera-1"]),
)
def test_no_single_datagram_with_any_time_stamp_blinds_the_tracker(
    bad_at: int, stamp: int, sensor: str
) -> None:
    """Whatever time one datagram carries, the car is tracked one second after it."""
    t0 = 1_700_000_000 * NS_PER_S
    config = SensorsSourceConfig()
    cam = config.cameras[0]
    source = SensorFusion(config)
    for i in range(bad_at + 21):
        rx = t0 + i * DT
        if i == bad_at:
            bad = (
                radar_bytes(i, t0, stamp, counter=9999)
                if sensor == "radar-1"
                else camera_bytes(cam, i, t0, stamp)
            )
            source.receive(sensor, bad, rx)
        source.receive("radar-1", radar_bytes(i, t0), rx)
        source.receive("camera-1", camera_bytes(cam, i, t0), rx)
        snap = source.snapshot(rx)
    objects = snap.objects
    x, y = truth(bad_at + 20)
    assert any(math.hypot(o.position.x - x, o.position.y - y) < 3.0 for o in objects), objects
