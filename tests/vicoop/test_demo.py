"""`vicoop demo`: SUMO traffic through an RSU to two vehicles that print what they receive."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from vicoop.demo import run_demo

pytest.importorskip("libsumo")


async def test_demo_vehicles_print_what_they_receive() -> None:
    out = io.StringIO()
    await run_demo(duration_s=4.0, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(
        "SUMO scenario crossing: RSU crossing-B1 fusing 4 radars and 4 cameras, streaming perception on 127.0.0.1:"
    )
    v1 = [line for line in lines if line.startswith("[vehicle-1] frame ")]
    v2 = [line for line in lines if line.startswith("[vehicle-2] frame ")]
    assert len(v1) >= 3 and len(v2) >= 1
    assert any(" car" in line for line in v1)  # SUMO's cars, tracked from the simulated sensors
    # vehicle-2 asked for cyclists, buses and trucks only.
    assert not any(word in line for line in v2 for word in (" car", " van", " unknown"))
    assert lines[-1].startswith("demo stopped: ") and "MOTA" in lines[-1]


def test_vicoop_demo_command_runs_and_stops_after_its_duration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vicoop.cli", "demo", "--duration", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "[vehicle-1] connected to RSU crossing-B1" in result.stdout
    assert "demo stopped:" in result.stdout
