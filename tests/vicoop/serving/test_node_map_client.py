"""A MAP client in Node (@grpc/grpc-js, @grpc/proto-loader) reads a real RSU server's GetMap
response whole: every lane, stop line, connection, group, conflict and crosswalk, the optional
fields present or absent; an unknown intersection is INVALID_ARGUMENT naming it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from vehicle.testing import crossroads_map
from vicoop.intersection import IntersectionMap, LaneDirection, LaneKind
from vicoop.model import GeodeticOrigin, SiteInfo
from vicoop.serving import PerceptionHub, RoadsideServer

ROOT = Path(__file__).resolve().parents[3]
CLIENT = Path(__file__).with_name("node") / "map_client.js"
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
KINDS = {
    LaneKind.VEHICLE: 1,
    LaneKind.BIKE: 2,
    LaneKind.SIDEWALK: 3,
    LaneKind.TRACKED: 4,
    LaneKind.BUS: 5,
}
DIRECTIONS = {LaneDirection.INGRESS: 1, LaneDirection.EGRESS: 2}


def _point(p: tuple[float, float]) -> dict[str, float]:
    return {"x_m": p[0], "y_m": p[1]}


def _optional(out: dict[str, Any], name: str, value: object) -> dict[str, Any]:
    if value is not None:  # proto3 optional: present, and its synthetic oneof says so
        out[name] = value
        out[f"_{name}"] = name
    return out


def _as_node_decodes(m: IntersectionMap) -> dict[str, Any]:
    return {
        "intersection_id": m.intersection_id,
        "revision": m.revision,
        "reference": _point(m.reference_xy),
        "lanes": [
            _optional(
                {
                    "lane_id": lane.lane_id,
                    "name": lane.name,
                    "kind": KINDS[lane.kind],
                    "direction": DIRECTIONS[lane.direction],
                    "approach": lane.approach,
                    "centre_line": [_point(p) for p in lane.centre_line],
                    "width_m": lane.width_m,
                    "manoeuvres": int(lane.manoeuvres),
                },
                "speed_limit_mps",
                lane.speed_limit_mps,
            )
            for lane in m.lanes
        ],
        "stop_lines": [
            {"lane_id": s.lane_id, "start": _point(s.start), "end": _point(s.end)}
            for s in m.stop_lines
        ],
        "connections": [
            _optional(
                {
                    "connection_id": c.connection_id,
                    "from_lane": c.from_lane,
                    "to_lane": c.to_lane,
                    "manoeuvre": int(c.manoeuvre),
                },
                "signal_group",
                c.signal_group,
            )
            for c in m.connections
        ],
        "signal_groups": [
            {"signal_group": g.signal_group, "name": g.name} for g in m.signal_groups
        ],
        "conflicts": [{"first": a, "second": b} for a, b in m.conflicts if a < b],
        "crosswalks": [
            _optional(
                {
                    "crosswalk_id": w.crosswalk_id,
                    "name": w.name,
                    "centre_line": [_point(p) for p in w.centre_line],
                    "width_m": w.width_m,
                    "crosses": list(w.crosses),
                },
                "signal_group",
                w.signal_group,
            )
            for w in m.crosswalks
        ],
    }


async def _node(target: str, ids: list[str]) -> tuple[int, dict[str, Any]]:
    assert NODE is not None
    client = await asyncio.create_subprocess_exec(
        NODE,
        str(CLIENT),
        target,
        json.dumps(ids),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(120):  # a bound against a hang, not a measurement
            out, err = await client.communicate()
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
    assert client.returncode in (0, 2), err.decode()
    return client.returncode, json.loads(out)


async def test_a_node_client_reads_the_map_whole() -> None:
    one = crossroads_map("j1")
    lane = dataclasses.replace(one.lanes[0], speed_limit_mps=13.9)
    free = dataclasses.replace(one.connections[1], signal_group=None)
    one = dataclasses.replace(
        one,
        lanes=(lane, *one.lanes[1:]),
        connections=(one.connections[0], free, *one.connections[2:]),
    )
    two = crossroads_map("j2", arm_m=55.5)
    server = RoadsideServer(
        PerceptionHub(20.0),
        SiteInfo("rsu-node", GeodeticOrigin(50.9, 6.9, 0.0), 20.0),
        maps=[one, two],
    )
    await server.start()
    try:
        code, everything = await _node(server.target, [])
        _, only_two = await _node(server.target, ["j2"])
        refused, error = await _node(server.target, ["j1", "nowhere"])
    finally:
        await server.stop(grace_period_s=0.5)
    assert code == 0
    assert everything == {
        "rsu_id": "rsu-node",
        "intersections": [_as_node_decodes(one), _as_node_decodes(two)],
    }
    assert only_two["intersections"] == [_as_node_decodes(two)]
    assert refused == 2
    assert error["error"]["code"] == 3  # INVALID_ARGUMENT
    assert "'nowhere' has no MAP on this RSU" in error["error"]["details"]
