"""`vicoop demo`: an RSU and two vehicles that print what they receive."""

from __future__ import annotations

import io
import subprocess
import sys

from vicoop.demo import run_demo


async def test_demo_vehicles_print_what_they_receive() -> None:
    out = io.StringIO()
    await run_demo(duration_s=2.5, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("RSU rsu-demo-1 streaming perception on 127.0.0.1:")
    v1 = [line for line in lines if line.startswith("[vehicle-1] frame ")]
    v2 = [line for line in lines if line.startswith("[vehicle-2] frame ")]
    assert len(v1) >= 3 and len(v2) >= 1
    assert all("/24 objects" in line for line in v1 + v2)  # 24 tracked at the RSU
    # vehicle-2 asked for pedestrians and cyclists only.
    assert not any(word in line for line in v2 for word in (" car", " van", " truck", " bus"))
    assert lines[-1].startswith("demo stopped: ")


def test_vicoop_demo_command_runs_and_stops_after_its_duration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vicoop.cli", "demo", "--duration", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "[vehicle-1] connected to RSU rsu-demo-1" in result.stdout
    assert "demo stopped:" in result.stdout
