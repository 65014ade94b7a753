"""A SPaT client in Node (@grpc/grpc-js, @grpc/proto-loader) reads a real RSU server's StreamSpat
responses whole: every intersection, every movement, the optional times present or absent."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from vicoop.model import NS_PER_S, GeodeticOrigin, SiteInfo
from vicoop.serving import PerceptionHub, RoadsideServer
from vicoop.serving.spatfeed import SpatFeed
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

ROOT = Path(__file__).resolve().parents[3]
CLIENT = Path(__file__).with_name("node") / "spat_client.js"
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
T0 = 1_764_746_434_000_000_000


def _spat(intersection_id: str, k: int) -> Spat:
    green = MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED
    red = MovementPhaseState.STOP_AND_REMAIN
    t = T0 + k * NS_PER_S
    return Spat(
        intersection_id,
        t,
        2**40 + k,  # past 2**32
        ControlMode.ACTUATED,
        (
            MovementEvent(1, green, t + 3 * NS_PER_S, t + 20 * NS_PER_S, t + 9 * NS_PER_S, 0.5),
            MovementEvent(2, red, t + 7 * NS_PER_S, t + 24 * NS_PER_S, None),
            MovementEvent(255, MovementPhaseState.DARK, None, None, None),
        ),
    )


def _as_node_decodes(spat: Spat) -> dict[str, Any]:
    def event(m: MovementEvent) -> dict[str, Any]:
        out: dict[str, Any] = {
            "signal_group": m.signal_group,
            "state": int(m.state),
            "confidence": m.confidence,
        }
        for name in ("min_end_ns", "max_end_ns", "likely_end_ns"):
            value = getattr(m, name)
            if value is not None:  # proto3 optional: present, and its synthetic oneof says so
                out[name] = str(value)
                out[f"_{name}"] = name
        return out

    return {
        "intersection_id": spat.intersection_id,
        "valid_at_ns": str(spat.valid_at_ns),
        "revision": str(spat.revision),
        "mode": int(spat.mode),
        "movements": [event(m) for m in spat.movements],
    }


async def test_a_node_client_reads_every_spat_response_whole() -> None:
    assert NODE is not None
    feed = SpatFeed("rsu-node", ["a", "b"])
    server = RoadsideServer(
        PerceptionHub(20.0), SiteInfo("rsu-node", GeodeticOrigin(50.9, 6.9, 0.0), 20.0), spat=feed
    )
    await server.start()
    client = await asyncio.create_subprocess_exec(
        NODE,
        str(CLIENT),
        server.target,
        "3",
        json.dumps([]),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    sent: dict[int, dict[str, Spat]] = {}  # what each response's sequence carried
    try:
        async with asyncio.timeout(120):  # a bound against a hang, not a measurement
            while feed.subscriber_count < 1:
                assert client.returncode is None, "the Node client exited before subscribing"
                await asyncio.sleep(0.02)
            k = 0
            while client.returncode is None:  # until it has read its three responses
                feed.publish([_spat("a", k), _spat("b", k)])
                sent[feed.sequence] = dict(feed.latest)
                k += 1
                await asyncio.sleep(0.05)
            out, err = await client.communicate()
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
        await server.stop(grace_period_s=0.5)
    assert client.returncode == 0, err.decode()
    responses = json.loads(out)["responses"]
    assert [r["rsu_id"] for r in responses] == ["rsu-node"] * 3
    sequences = [int(r["sequence"]) for r in responses]
    assert sequences == sorted(set(sequences)) and sequences[0] == 1
    for response, sequence in zip(responses, sequences, strict=True):
        latest = sent[sequence]
        assert response["intersections"] == [_as_node_decodes(latest[i]) for i in ("a", "b")]
