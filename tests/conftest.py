"""Shared test fixtures. Servers run for real on free ports on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import HealthCheck, settings

from vehicle.testing import FakeRoadside
from vicoop.model import DetectedObject, ObjectClass, Size3, Vec3

# The machines are shared and noisy: hypothesis must judge inputs, never the clock.
settings.register_profile("vicoop", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("vicoop")


def make_object(
    track_id: int = 1,
    x: float = 0.0,
    y: float = 0.0,
    object_class: ObjectClass = ObjectClass.CAR,
    valid_at_ns: int | None = None,
    vx: float = 0.0,
    vy: float = 0.0,
    heading_rad: float = 0.0,
) -> DetectedObject:
    """A detected object at (x, y) metres ENU; defaults to a stationary car at the origin."""
    return DetectedObject(
        track_id=track_id,
        object_class=object_class,
        class_confidence=0.8,
        position=Vec3(x, y, 0.75),
        velocity=Vec3(vx, vy, 0.0),
        heading_rad=heading_rad,
        size=Size3(4.5, 1.8, 1.5),
        position_covariance=(0.25, 0.0, 0.0, 0.25, 0.0, 0.01),
        existence_probability=0.95,
        valid_at_ns=time.time_ns() if valid_at_ns is None else valid_at_ns,
        sensor_ids=("cam-1", "radar-1"),
    )


def run_vicoop(*args: str, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """``vicoop --log-level WARNING ARGS`` as a user runs it (its own process), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "--log-level", "WARNING", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture
def object_factory() -> Callable[..., DetectedObject]:
    return make_object


@pytest.fixture
async def fake_rsu() -> AsyncIterator[FakeRoadside]:
    """A fake RSU (the real server, frames published by the test) on a free port."""
    async with FakeRoadside() as rsu:
        yield rsu
