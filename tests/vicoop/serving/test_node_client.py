"""A vehicle client in Node (@grpc/grpc-js, @grpc/proto-loader: protobufjs, which does not merge
concatenated messages) reads every frame of a real RSU server whole: header, every object, every
field."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_object
from vicoop.model import (
    DetectedObject,
    GeodeticOrigin,
    ObjectClass,
    PerceptionFrame,
    SensorHealth,
    SensorKind,
    SensorStatus,
    SiteInfo,
)
from vicoop.serving import PerceptionHub, RoadsideServer

ROOT = Path(__file__).resolve().parents[3]
CLIENT = Path(__file__).with_name("node") / "perception_client.js"
NODE = shutil.which("node")
PACKAGES = ("@grpc/grpc-js", "@grpc/proto-loader")
MISSING = [p for p in PACKAGES if not (ROOT / "node_modules" / p / "package.json").is_file()]

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed (no `node` on PATH)"),
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"node_modules lacks {', '.join(MISSING)} (package.json's devDependencies): "
        "run `make test`, or `npm install --no-package-lock` at the repository root",
    ),
]

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
FRAMES = 5
OBJECTS = 150  # over 16 KiB a frame: three-byte length prefixes
PERIOD_NS = 50_000_000
START_NS = 1_700_000_000_000_000_000
CLASSES = (ObjectClass.CAR, ObjectClass.PEDESTRIAN, ObjectClass.TRUCK)
SENSORS = (
    SensorStatus("cam-1", SensorKind.CAMERA, SensorHealth.OK, START_NS - 1),
    SensorStatus("radar-1", SensorKind.RADAR, SensorHealth.SILENT),
)
# What the filtered Node stream asks for, and the same as a test of one object.
NEAR_M = 40.0
WANTED = {ObjectClass.CAR, ObjectClass.PEDESTRIAN}
FILTERED_OPTIONS = {
    "region": {"circle": {"center": {"x_m": 0.0, "y_m": 0.0}, "radius_m": NEAR_M}},
    "classes": sorted(int(c) for c in WANTED),
}


def _wanted(o: DetectedObject) -> bool:
    return math.hypot(o.position.x, o.position.y) <= NEAR_M and o.object_class in WANTED


def _frame(sequence: int) -> PerceptionFrame:
    valid_at = START_NS + sequence * PERIOD_NS
    objects = []
    for i in range(OBJECTS):
        o = make_object(
            2**60 + i,  # past 2**53: a 64-bit id JavaScript's numbers could not hold
            x=i - 75.0 + 0.25 * sequence,
            y=0.5 * i,
            object_class=CLASSES[i % len(CLASSES)],
            valid_at_ns=valid_at,
            vx=0.1 * i,
            heading_rad=-0.01 * i,
        )
        objects.append(dataclasses.replace(o, vehicle_id=f"veh-{i}" if i % 10 == 0 else ""))
    return PerceptionFrame(
        "rsu-node", sequence, valid_at, valid_at + 1_000, ORIGIN, tuple(objects), SENSORS
    )


def _f32(value: float) -> float:
    """``value`` as a protobuf ``float`` field holds it."""
    decoded: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return decoded


def _as_node_decodes(o: DetectedObject) -> dict[str, Any]:
    """``o`` as proto-loader decodes a ``DetectedObject`` (64-bit integers as strings)."""
    cov = o.position_covariance
    return {
        "track_id": str(o.track_id),
        "object_class": int(o.object_class),
        "class_confidence": _f32(o.class_confidence),
        "position_m": {"x": o.position.x, "y": o.position.y, "z": o.position.z},
        "velocity_mps": {"x": o.velocity.x, "y": o.velocity.y, "z": o.velocity.z},
        "heading_rad": o.heading_rad,
        "size": {
            "length_m": _f32(o.size.length_m),
            "width_m": _f32(o.size.width_m),
            "height_m": _f32(o.size.height_m),
        },
        "position_covariance_m2": {
            name: _f32(value)
            for name, value in zip(("xx", "xy", "xz", "yy", "yz", "zz"), cov, strict=True)
        },
        "existence_probability": _f32(o.existence_probability),
        "sensor_ids": list(o.sensor_ids),
        "valid_at_ns": str(o.valid_at_ns),
        "vehicle_id": o.vehicle_id,
    }


def _check_stream(got: list[dict[str, Any]], sent: list[PerceptionFrame], filtered: bool) -> None:
    sequences = [int(f["sequence"]) for f in got]
    assert sequences == sorted(sequences) == [f.sequence for f in sent]
    for frame, published in zip(got, sent, strict=True):
        assert frame["rsu_id"] == "rsu-node"
        assert frame["origin"] == {
            "latitude_deg": ORIGIN.latitude_deg,
            "longitude_deg": ORIGIN.longitude_deg,
            "altitude_m": ORIGIN.altitude_m,
        }
        assert int(frame["valid_at_ns"]) == published.valid_at_ns
        assert int(frame["published_at_ns"]) == published.published_at_ns
        assert frame["objects_before_filter"] == OBJECTS
        assert frame["sensors"] == [
            {
                "sensor_id": s.sensor_id,
                "kind": int(s.kind),
                "health": int(s.health),
                "last_measurement_ns": str(s.last_measurement_ns),
                "reason": s.reason,
            }
            for s in SENSORS
        ]
        expected = [o for o in published.objects if _wanted(o)] if filtered else published.objects
        assert frame["objects"] == [_as_node_decodes(o) for o in expected]


async def _until_subscribed(
    hub: PerceptionHub, streams: int, client: asyncio.subprocess.Process
) -> None:
    while hub.subscriber_count < streams:
        if client.returncode is not None:
            pytest.fail(f"the Node client exited with {client.returncode} before subscribing")
        await asyncio.sleep(0.02)


async def test_a_node_client_reads_every_frame_whole() -> None:
    assert NODE is not None
    hub = PerceptionHub(publish_rate_hz=20.0, queue_frames=FRAMES)  # nothing dropped
    server = RoadsideServer(hub, SiteInfo("rsu-node", ORIGIN, 20.0))
    await server.start()
    client = await asyncio.create_subprocess_exec(
        NODE,
        str(CLIENT),
        server.target,
        str(FRAMES),
        json.dumps({}),
        json.dumps(FILTERED_OPTIONS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # Generous bounds against a hang on a loaded machine, not a measurement.
        await asyncio.wait_for(_until_subscribed(hub, 2, client), 120.0)
        sent = [_frame(sequence) for sequence in range(1, FRAMES + 1)]
        for frame in sent:
            hub.publish(frame)
        out, err = await asyncio.wait_for(client.communicate(), 120.0)
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
        await server.stop(grace_period_s=0.5)
    assert client.returncode == 0, err.decode()
    everything, filtered = json.loads(out)["streams"]
    assert sum(map(_wanted, sent[0].objects)) > 1  # the filtered stream is a real subset
    _check_stream(everything, sent, filtered=False)
    _check_stream(filtered, sent, filtered=True)
