"""The RSU daemon: publishing on a fixed tick grid, the real `vicoop rsu run` process with its
configuration file, and graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymap3d

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from tests.conftest import RSU_COMMAND_KEYS
from vehicle import RoadsideClient, VehicleReport
from vicoop.model import ObjectClass, Size3

VICOOP = [sys.executable, "-m", "console.cli"]


async def _frames(target: str, count: int) -> list[object]:
    async with RoadsideClient(target) as rsu:
        frames = []
        async for frame in rsu.perception():
            frames.append(frame)
            if len(frames) == count:
                return frames
    raise AssertionError("stream ended early")


async def test_daemon_publishes_consecutive_frames_on_its_tick_grid() -> None:
    config = RsuConfig.model_validate(
        {"server": {"port": 0}, "publish": {"rate_hz": 50}, "source": {"objects": 5}}
    )
    async with RoadsideDaemon(config) as daemon:
        frames = await asyncio.wait_for(_frames(daemon.target, 5), 10)
    sequences = [f.sequence for f in frames]  # type: ignore[attr-defined]
    assert sequences == list(range(sequences[0], sequences[0] + 5))
    assert all(f.valid_at_ns % 20_000_000 == 0 for f in frames)  # type: ignore[attr-defined]
    assert all(len(f.objects) == 5 and f.rsu_id == "rsu-demo-1" for f in frames)  # type: ignore[attr-defined]
    assert all(f.published_at_ns >= f.valid_at_ns for f in frames)  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_rsu_process_serves_its_config_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    config = tmp_path / "rsu.yaml"
    config.write_text(
        f"rsu_id: pole-17\nserver:\n  port: {port}\n  grace_period_s: 1.0\npublish:\n  rate_hz: 20\n"
    )
    proc = subprocess.Popen(
        [*VICOOP, "rsu", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        async with RoadsideClient(f"127.0.0.1:{port}") as rsu:
            site = await asyncio.wait_for(rsu.site(timeout_s=20), 30)
            assert site.rsu_id == "pole-17"
            stream = rsu.perception()
            received = 0
            async for _frame in stream:
                received += 1
                if received == 3:
                    proc.send_signal(signal.SIGTERM)
                    break
        code = await asyncio.to_thread(proc.wait, 20)
        _, stderr = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert code == 0, stderr
    assert "stopping (grace period 1.0 s)" in stderr
    assert "RSU pole-17 stopped" in stderr


def test_a_bad_config_file_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "rsu.yaml"
    config.write_text("publish:\n  rate_hz: 0\n")
    for args in (["rsu", "check-config", str(config)], ["rsu", "run", "--config", str(config)]):
        result = subprocess.run([*VICOOP, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert (
            result.stderr.strip()
            == f"vicoop: error: {config}: publish.rate_hz: Input should be greater than 0 (got 0)"
        )


def _start_failure(tmp_path: Path, yaml_text: str) -> str:
    """Run ``vicoop rsu run`` on ``yaml_text``; the one error line it ends with."""
    config = tmp_path / "rsu.yaml"
    config.write_text(yaml_text)
    result = subprocess.run(
        [*VICOOP, "rsu", "run", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("vicoop: error: "), result.stderr
    return lines[-1]


def test_a_daemon_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert _start_failure(tmp_path, f"server:\n  port: {port}\n") == (
            f"vicoop: error: the gRPC server cannot listen on 127.0.0.1:{port} "
            "(in use, or not an address of this machine)"
        )
    assert _start_failure(tmp_path, "server:\n  host: no-such-host.invalid\n  port: 0\n") == (
        "vicoop: error: the gRPC server cannot listen on no-such-host.invalid:0 "
        "(in use, or not an address of this machine)"
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = _start_failure(
        tmp_path, f"cloud:\n  enabled: true\n  outbox_path: {blocker}/outbox.sqlite3\n"
    )
    assert line.startswith(f"vicoop: error: cannot open the outbox {blocker}/outbox.sqlite3: ")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        line = _start_failure(
            tmp_path,
            f"source:\n  kind: sensors\n  radars:\n    - input: {{port: {port}}}\n",
        )
        assert line == (
            f"vicoop: error: sensor radar-1: cannot listen on udp 127.0.0.1:{port}: "
            "Address already in use"
        )
    line = _start_failure(
        tmp_path,
        "source:\n  kind: sensors\n  radars:\n"
        "    - input: {kind: can_ars408, interface: socketcan, channel: vicoop-none0}\n",
    )
    assert line.startswith("vicoop: error: sensor radar-1: cannot open CAN bus socketcan "), line
    assert "vicoop-none0" in line


async def test_a_vehicle_reporting_itself_is_tagged_on_the_synthetic_track_it_is() -> None:
    """The daemon with its synthetic source: a vehicle reporting the state of synthetic track 1
    (as its own GNSS would) finds that track tagged with its id; another stream claiming the
    same id is rejected and counted."""
    config = RsuConfig.model_validate(
        {
            "server": {"port": 0, "grace_period_s": 0.5},
            "publish": {"rate_hz": 20},
            "source": {"objects": 6, "seed": 3},
            "reports": {"max_age_s": 60, "associate_for_s": 60, "id_hold_s": 600},
        }
    )
    origin = config.origin

    def report_of_track_1(now_ns: int) -> VehicleReport:
        obj = next(o for o in daemon.source.snapshot(now_ns).objects if o.track_id == 1)
        lat, lon, _ = pymap3d.enu2geodetic(
            obj.position.x,
            obj.position.y,
            0.0,
            origin.latitude_deg,
            origin.longitude_deg,
            origin.altitude_m,
        )
        return VehicleReport(
            "veh-syn-1",
            obj.object_class,
            float(lat),
            float(lon),
            obj.speed_mps,
            obj.heading_rad,
            obj.size,
            now_ns,
        )

    async with RoadsideDaemon(config) as daemon, RoadsideClient(daemon.target) as rsu:
        async with rsu.reporter() as reporter:
            reporter.send(report_of_track_1(time.time_ns()))
            async for frame in rsu.perception():
                tagged = {o.track_id: o.vehicle_id for o in frame.objects if o.vehicle_id}
                if tagged:
                    break
            assert tagged == {1: "veh-syn-1"}
            thief = await rsu.report_state([report_of_track_1(time.time_ns())])
        assert (thief.accepted, thief.rejected) == (0, 1)
        assert daemon.reports.stats.rejected["id_claimed"] == 1
        assert reporter.stats.accepted == 1


async def test_reports_under_many_vehicle_ids_make_a_few_events(tmp_path: Path) -> None:
    """A client choosing a new vehicle id for each of 300 implausible reports (through the real
    gRPC server) leaves the RSU's outbox with a few events, not 300: the limit does not rest on
    ids the sender chooses."""
    config = RsuConfig.model_validate(
        {
            "server": {"port": 0, "grace_period_s": 0.5},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": "mqtt://127.0.0.1:1",  # no broker: events stay in the outbox
                "outbox_path": str(tmp_path / "outbox.sqlite3"),
            },
        }
    )
    far_lat = config.origin.latitude_deg + 0.1  # ~11 km north
    now = time.time_ns()
    reports = [
        VehicleReport(
            f"veh-{i}",
            ObjectClass.CAR,
            far_lat,
            config.origin.longitude_deg,
            1.0,
            0.0,
            Size3(4.5, 1.8, 1.5),
            now,
        )
        for i in range(300)
    ]
    async with RoadsideDaemon(config) as daemon, RoadsideClient(daemon.target) as rsu:
        summary = await rsu.report_state(reports)
        assert (summary.accepted, summary.rejected) == (0, 300)
        assert daemon.link is not None
        assert daemon.link.outbox.pending() == 10


class _ClockFailingOnce:
    """The system clock, but its fifth reading raises (a stand-in bug outside a frame's own
    publishing, which the loop already survives)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls == 5:
            raise RuntimeError("a bug in the clock")
        return time.time_ns()


async def test_a_publish_loop_that_dies_is_logged_restarted_and_frames_flow_again() -> None:
    """It used to end in silence: the server kept answering, with no frames."""
    config = RsuConfig.model_validate(
        {"server": {"port": 0}, "publish": {"rate_hz": 50}, "source": {"objects": 2}}
    )
    async with RoadsideDaemon(config, clock=_ClockFailingOnce()) as daemon:
        frames = await asyncio.wait_for(_frames(daemon.target, 5), 30)  # a hang guard
        stats = daemon.supervisor.stats["publish-loop"]
        assert (stats.failures, stats.restarts) == (1, 1)
        assert "a bug in the clock" in stats.last_error
        assert daemon.supervisors() == [daemon.supervisor]
    assert len(frames) == 5
