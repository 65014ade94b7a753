"""The base distribution (``pip install vicoop``, no extras) in a fresh virtual environment: the
vehicle library and its fake RSU work, and ``vicoop --help`` names the extra each role needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What a vehicle developer writes against the fake RSU: subscribe, publish a car, receive it.
EXAMPLE = """
import asyncio
import importlib.util

from vehicle import DetectedObject, ObjectClass, RoadsideClient, Size3, Vec3
from vehicle.testing import FakeRoadside

for heavy in ("cv2", "onnxruntime", "libsumo", "aiomqtt", "fastapi"):
    assert importlib.util.find_spec(heavy) is None, f"{heavy} is in the base install"

CAR = DetectedObject(
    track_id=7,
    object_class=ObjectClass.CAR,
    class_confidence=0.9,
    position=Vec3(12.0, -3.0, 0.75),
    velocity=Vec3(5.0, 0.0, 0.0),
    heading_rad=0.0,
    size=Size3(4.5, 1.8, 1.5),
    position_covariance=(0.25, 0.0, 0.0, 0.25, 0.0, 0.01),
    existence_probability=0.95,
    valid_at_ns=0,
    sensor_ids=("radar-1",),
)


async def main() -> None:
    async with FakeRoadside() as rsu, RoadsideClient(rsu.target) as client:
        stream = client.perception(classes={ObjectClass.CAR})
        rsu.publish([CAR])
        rsu.every(20.0)  # frames keep coming until the subscription is up
        frame = await asyncio.wait_for(anext(aiter(stream)), 60)
        (car,) = frame.objects
        assert car.track_id == 7 and car.object_class is ObjectClass.CAR
        assert abs(car.position.x - 12.0) < 1e-6 and abs(car.position.y + 3.0) < 1e-6
        assert frame.rsu_id == "fake-rsu"
        print("received", car.track_id)


asyncio.run(main())
"""


def _run(command: list[str], cwd: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_base_install_runs_the_vehicle_library_and_names_the_extras(tmp_path: Path) -> None:
    # A copy of the checkout, so the build writes nothing into the work tree.
    source = tmp_path / "vicoop"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "node_modules",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".*cache",
            ".hypothesis",
        ),
    )
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], tmp_path, 120)
    assert made.returncode == 0, made.stderr
    python = str(venv / "bin" / "python")
    # pip's cache is reused: the dependencies are downloaded once per machine.
    installed = _run([python, "-m", "pip", "install", str(source)], tmp_path, 800)
    assert installed.returncode == 0, installed.stderr[-3000:]

    script = tmp_path / "example.py"
    script.write_text(EXAMPLE, encoding="utf-8")
    example = _run([python, str(script)], tmp_path, 120)
    assert example.returncode == 0, example.stderr
    assert example.stdout.strip() == "received 7"

    helped = _run([str(venv / "bin" / "vicoop"), "--help"], tmp_path, 120)
    assert helped.returncode == 0, helped.stderr
    text = " ".join(helped.stdout.split())  # argparse wraps the help lines
    for extra in ("roadside", "cloud", "hil", "all"):
        assert f"[needs: pip install 'vicoop[{extra}]']" in text, text
    refused = _run([str(venv / "bin" / "vicoop"), "hil", "run"], tmp_path, 120)
    assert refused.returncode == 2 and "pip install 'vicoop[hil]'" in refused.stderr
