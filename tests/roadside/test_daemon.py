"""The RSU daemon: publishing on a fixed tick grid, the real `vicoop rsu run` process with its
configuration file, and graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from vehicle import RoadsideClient

VICOOP = [sys.executable, "-m", "vicoop.cli"]


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
