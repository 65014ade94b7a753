"""``vicoop rsu export-its``: a site's MAP and SPaT as a capture Debian's tshark decodes with no
malformed field and the model's values; bad input is one line and exit code 2."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from console.cli import main
from vehicle.testing import crossroads_map
from vicoop.intersection import IntersectionMap, LaneDirection

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None,
    reason="tshark is not installed: `make test` installs Debian's tshark with apt-get when run "
    "as root; otherwise `sudo apt-get install tshark`",
)
ORIGIN = {"latitude_deg": 50.9375, "longitude_deg": 6.9603, "altitude_m": 55.0}
FIELDS = (
    "frame.protocols",
    "btpb.dstport",
    "its.messageID",
    "its.stationID",
    "dsrc.name",
    "dsrc.id",
    "dsrc.laneID",
    "dsrc.x",
    "dsrc.y",
    "dsrc.signalGroup",
    "dsrc.eventState",
    "_ws.malformed",
    "_ws.expert.severity",
)


def map_entry(m: IntersectionMap) -> dict[str, Any]:
    """``m`` as an entry of the RSU file's ``map.intersections``."""
    return {
        "intersection_id": m.intersection_id,
        "revision": m.revision,
        "reference_xy": list(m.reference_xy),
        "lanes": [
            {
                "lane_id": lane.lane_id,
                "name": lane.name,
                "kind": lane.kind.value,
                "direction": lane.direction.value,
                "approach": lane.approach,
                "centre_line": [list(p) for p in lane.centre_line],
                "width_m": lane.width_m,
                "manoeuvres": list(lane.manoeuvres.names()),
            }
            for lane in m.lanes
        ],
        "connections": [
            {
                "connection_id": c.connection_id,
                "from_lane": c.from_lane,
                "to_lane": c.to_lane,
                "signal_group": c.signal_group,
                "manoeuvre": c.manoeuvre.names()[0],
            }
            for c in m.connections
        ],
        "signal_groups": [
            {"signal_group": g.signal_group, "name": g.name} for g in m.signal_groups
        ],
        "conflicts": [list(p) for p in m.conflicts if p[0] < p[1]],
        "crosswalks": [
            {
                "crosswalk_id": x.crosswalk_id,
                "name": x.name,
                "centre_line": [list(p) for p in x.centre_line],
                "width_m": x.width_m,
                "signal_group": x.signal_group,
                "crosses": list(x.crosses),
            }
            for x in m.crosswalks
        ],
    }


def rsu_file(path: Path, intersections: list[dict[str, Any]]) -> Path:
    path.write_text(
        yaml.safe_dump(
            {"rsu_id": "rsu-its-1", "origin": ORIGIN, "map": {"intersections": intersections}}
        )
    )
    return path


def tshark_rows(pcap: Path) -> tuple[str, list[dict[str, str]]]:
    """tshark's verbose text of ``pcap`` and each frame's FIELDS (several values: commas)."""
    assert TSHARK is not None
    verbose = subprocess.run(
        [TSHARK, "-r", str(pcap), "-V"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    cmd = [TSHARK, "-r", str(pcap), "-T", "fields", "-E", "separator=;", "-E", "occurrence=a"]
    for field in FIELDS:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    return verbose, [dict(zip(FIELDS, line.split(";"), strict=True)) for line in out.splitlines()]


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")] if text else []


def export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["rsu", "export-its", *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean(verbose: str, rows: list[dict[str, str]]) -> None:
    assert "Malformed" not in verbose and "[Expert Info (Error" not in verbose, verbose
    for row in rows:
        assert row["frame.protocols"] == "eth:ethertype:gnw:btpb:its"
        assert row["_ws.malformed"] == "" and row["_ws.expert.severity"] == "", row


@needs_tshark
def test_a_config_exports_one_mapem_and_one_spatem_per_intersection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = crossroads_map("junction-1"), crossroads_map("junction-2", arm_m=60.0)
    config = rsu_file(tmp_path / "rsu.yaml", [map_entry(a), map_entry(b)])
    pcap = tmp_path / "its.pcap"
    code, out, err = export(
        capsys, "--config", str(config), "--pcap", str(pcap), "--station-id", "99"
    )
    assert (code, err) == (0, "") and "wrote 4 frames (2 intersections)" in out
    verbose, rows = tshark_rows(pcap)
    assert_clean(verbose, rows)
    assert [(r["btpb.dstport"], r["its.messageID"]) for r in rows] == [
        ("2003", "5"),
        ("2004", "4"),
    ] * 2
    assert {r["its.stationID"] for r in rows} == {"99"}
    for ref, m, (mapem, spatem) in ((1, a, rows[0:2]), (2, b, rows[2:4])):
        assert mapem["dsrc.id"] == spatem["dsrc.id"] == str(ref)
        assert mapem["dsrc.name"].split(",")[0] == m.intersection_id
        lane_ids = [lane.lane_id for lane in m.lanes] + [x.crosswalk_id for x in m.crosswalks]
        assert ints(mapem["dsrc.laneID"]) == lane_ids
        # The first node of ingress lane 1 (from the north) is its stop line, in cm from the
        # reference point; every node's x and y in lane order.
        lane = m.lane(1)
        assert lane.direction is LaneDirection.INGRESS
        xs, ys = ints(mapem["dsrc.x"]), ints(mapem["dsrc.y"])
        stop_x, stop_y = m.node_offsets(lane)[-1]
        assert (xs[0], ys[0]) == (round(stop_x * 100), round(stop_y * 100))
        far_x, far_y = m.node_offsets(lane)[0]
        assert (xs[0] + xs[1], ys[0] + ys[1]) == (round(far_x * 100), round(far_y * 100))
        # The connections' signal groups in lane order, then the crosswalk's.
        by_lane = [c for ln in m.lanes for c in m.connections if c.from_lane == ln.lane_id]
        walk_groups = [x.signal_group for x in m.crosswalks]
        assert ints(mapem["dsrc.signalGroup"]) == [c.signal_group for c in by_lane] + walk_groups
        # No live controller: every group of the map UNAVAILABLE (0).
        assert ints(spatem["dsrc.signalGroup"]) == sorted(m.group_ids)
        assert ints(spatem["dsrc.eventState"]) == [0] * len(m.group_ids)


@needs_tshark
def test_a_sumo_scenario_exports_its_traffic_light_junctions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hil.its import scenario_intersections
    from tests.sumo_nets import four_arm_crossing

    net = four_arm_crossing(tmp_path / "net")
    pcap = tmp_path / "sumo.pcap"
    code, out, err = export(capsys, "--scenario", str(net), "--pcap", str(pcap))
    assert (code, err) == (0, "") and "wrote 2 frames (1 intersections)" in out
    verbose, rows = tshark_rows(pcap)
    assert_clean(verbose, rows)
    [x] = scenario_intersections(str(net))
    m = x.map
    assert m.crosswalks  # SUMO's crossings: crosswalk lanes of the MAPEM
    mapem, spatem = rows
    assert mapem["dsrc.name"].split(",")[0] == m.intersection_id == "C"
    lane_ids = [lane.lane_id for lane in m.lanes] + [w.crosswalk_id for w in m.crosswalks]
    assert ints(mapem["dsrc.laneID"]) == lane_ids
    assert ints(spatem["dsrc.signalGroup"]) == sorted(m.group_ids)


def test_bad_input_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcap = str(tmp_path / "x.pcap")
    bad = map_entry(crossroads_map())
    bad["connections"][0]["to_lane"] = 17
    config = rsu_file(tmp_path / "bad.yaml", [bad])
    code, _, err = export(capsys, "--config", str(config), "--pcap", pcap)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "unknown lane 17" in err

    # More lanes (and crosswalks) than a J2735 LaneList holds: 256.
    lanes = [
        {
            "lane_id": i,
            "direction": "egress",
            "width_m": 3.0,
            "centre_line": [[0.0, i * 0.1], [5.0, i * 0.1]],
        }
        for i in range(256)
    ]
    many = rsu_file(tmp_path / "many.yaml", [{"intersection_id": "big", "lanes": lanes}])
    code, _, err = export(capsys, "--config", str(many), "--pcap", pcap)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "intersections[0].laneSet: J2735 takes 1..255 lanes" in err

    # A node 400 m from the reference point: beyond node-XY6.
    far = map_entry(crossroads_map())
    far["lanes"][1]["centre_line"] = [[1.75, 10.0], [1.75, 400.0]]
    config = rsu_file(tmp_path / "far.yaml", [far])
    code, _, err = export(capsys, "--config", str(config), "--pcap", pcap)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "intersections[0].lanes[1].centre_line[1]" in err and "node-XY6" in err

    empty = rsu_file(tmp_path / "empty.yaml", [])
    code, _, err = export(capsys, "--config", str(empty), "--pcap", pcap)
    assert code == 2 and "map is empty" in err and len(err.strip().splitlines()) == 1
    assert not Path(pcap).exists()
