"""MAPEM: a map decodes back to itself (within the cm of J2735's node offsets) in pycrate and
decodes in Wireshark's own dissector (Debian's tshark) with no malformed field; what J2735
cannot hold is refused naming the field."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from roadside.its.capture import BTP_PORT_MAPEM, Sender, ethernet, geonetworking_shb, write_pcap
from roadside.its.mapem import decode_mapem, encode_mapem, mapem_value
from roadside.its.spatem import ItsCodecError
from vehicle.testing import crossroads_map
from vicoop.intersection import (
    Connection,
    IntersectionMap,
    Lane,
    LaneDirection,
    LaneKind,
    Manoeuvre,
    StopLine,
    validate,
)
from vicoop.model import GeodeticOrigin

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None,
    reason="tshark is not installed: `make test` installs Debian's tshark with apt-get when run "
    "as root; otherwise `sudo apt-get install tshark`",
)
ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
NOW = 1_764_746_434_567_000_000


def rich_map() -> IntersectionMap:
    """crossroads_map moved off the origin, with what else the MAPEM carries: a bus, a bike and
    a tram lane, several points, another width, a speed limit, an unsignalised right turn."""
    base = crossroads_map()
    rx, ry = 12.34, -56.78

    def moved(points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        return tuple((x + rx, y + ry) for x, y in points)

    lanes = [dataclasses.replace(lane, centre_line=moved(lane.centre_line)) for lane in base.lanes]
    lanes[0] = dataclasses.replace(
        lanes[0],
        centre_line=moved(((-1.756, 140.0), (-1.75, 70.004), (-1.753, 40.0), (-1.75, 10.0))),
        speed_limit_mps=13.9,
        manoeuvres=Manoeuvre.STRAIGHT | Manoeuvre.RIGHT | Manoeuvre.RIGHT_ON_RED,
    )
    lanes[1] = dataclasses.replace(lanes[1], kind=LaneKind.BUS, width_m=3.0)
    lanes[3] = dataclasses.replace(lanes[3], kind=LaneKind.TRACKED, manoeuvres=Manoeuvre.NONE)
    extra = [
        Lane(
            30,
            "bike-in",
            LaneKind.BIKE,
            LaneDirection.INGRESS,
            0,
            moved(((-4.5, 30.0), (-4.5, 11.0))),
            1.5,
        ),
        Lane(
            31,
            "walk",
            LaneKind.SIDEWALK,
            LaneDirection.EGRESS,
            2,
            moved(((12.0, -4.5), (35.0, -4.5))),
            2.0,
        ),
    ]
    all_lanes = (*lanes, *extra)
    crosswalks = tuple(
        dataclasses.replace(x, centre_line=moved(x.centre_line)) for x in base.crosswalks
    )
    connections = (
        *base.connections,
        Connection(9, 1, 4, None, Manoeuvre.RIGHT),  # a free right turn, no signal group
    )
    return validate(
        dataclasses.replace(
            base,
            intersection_id="rich-1",
            revision=42,
            reference_xy=(rx, ry),
            lanes=all_lanes,
            stop_lines=tuple(
                StopLine.at_end_of(lane)
                for lane in all_lanes
                if lane.direction is LaneDirection.INGRESS
            ),
            connections=connections,
            crosswalks=crosswalks,
        )
    )


def assert_same_map(sent: IntersectionMap, got: IntersectionMap) -> None:
    """What a MAPEM carries: all of it but the groups' names and the conflicts."""
    assert got.intersection_id == sent.intersection_id and got.revision == sent.revision
    assert got.reference_xy == pytest.approx(sent.reference_xy, abs=0.01)
    assert [lane.lane_id for lane in got.lanes] == [lane.lane_id for lane in sent.lanes]
    for a, b in zip(sent.lanes, got.lanes, strict=True):
        assert (b.name, b.kind, b.direction, b.approach, b.manoeuvres) == (
            a.name,
            a.kind,
            a.direction,
            a.approach,
            a.manoeuvres,
        )
        assert b.width_m == pytest.approx(a.width_m, abs=0.005)
        # Offsets from the reference point: cm, rounded once per point (never accumulated).
        assert len(b.centre_line) == len(a.centre_line)
        for p, q in zip(sent.node_offsets(a), got.node_offsets(b), strict=True):
            assert q == pytest.approx(p, abs=0.005 + 1e-9)
        if a.speed_limit_mps is None:
            assert b.speed_limit_mps is None
        else:
            assert b.speed_limit_mps == pytest.approx(a.speed_limit_mps, abs=0.01)
    key = sorted
    assert key(got.connections, key=lambda c: c.connection_id) == key(
        sent.connections, key=lambda c: c.connection_id
    )
    assert got.group_ids == tuple(sorted(sent.group_ids))
    assert [(x.crosswalk_id, x.name, x.signal_group, x.crosses) for x in got.crosswalks] == [
        (x.crosswalk_id, x.name, x.signal_group, x.crosses) for x in sent.crosswalks
    ]
    for a_walk, b_walk in zip(sent.crosswalks, got.crosswalks, strict=True):
        assert b_walk.width_m == pytest.approx(a_walk.width_m, abs=0.005)
        for p, q in zip(a_walk.centre_line, b_walk.centre_line, strict=True):
            assert q == pytest.approx(p, abs=0.01)
    # Stop lines: each ingress lane's first J2735 node, drawn across the end of the lane.
    assert [s.lane_id for s in got.stop_lines] == [s.lane_id for s in sent.stop_lines]
    for s, t in zip(sent.stop_lines, got.stop_lines, strict=True):
        assert t.start == pytest.approx(s.start, abs=0.01)
        assert t.end == pytest.approx(s.end, abs=0.01)


@pytest.mark.parametrize("make", [crossroads_map, rich_map], ids=["crossroads", "rich"])
def test_pycrate_round_trip_keeps_the_map(make: Callable[[], IntersectionMap]) -> None:
    m = make()
    station, decoded = decode_mapem(encode_mapem([(m, 77)], ORIGIN, station_id=4242), ORIGIN)
    assert station == 4242
    [(ref, back)] = decoded
    assert ref == 77
    assert_same_map(m, back)
    assert back.conflicts == ()  # not in J2735 MapData
    assert all(g.name == "" for g in back.signal_groups)


def test_two_intersections_in_one_mapem() -> None:
    a, b = crossroads_map("a"), rich_map()
    _, decoded = decode_mapem(encode_mapem([(a, 1), (b, 2)], ORIGIN, 7), ORIGIN)
    assert [ref for ref, _ in decoded] == [1, 2]
    assert_same_map(a, decoded[0][1])
    assert_same_map(b, decoded[1][1])


def test_ingress_nodes_start_at_the_stop_line_and_use_the_smallest_node_xy() -> None:
    m = rich_map()
    value = mapem_value(m, 1, ORIGIN)
    lanes = {lane["laneID"]: lane for lane in value["laneSet"]}
    # Ingress lane 1 ends at (-1.75, 10) about the reference: J2735's first node is that end.
    kind, nodes = lanes[1]["nodeList"]
    assert kind == "nodes"
    assert nodes[0]["delta"] == ("node-XY2", {"x": -175, "y": 1000})
    # -1.753 and -1.75 are both -175 cm: each point is rounded, never the deltas.
    assert nodes[1]["delta"] == ("node-XY4", {"x": 0, "y": 3000})
    assert nodes[2]["delta"] == ("node-XY4", {"x": 0, "y": 3000})
    assert nodes[3]["delta"] == ("node-XY5", {"x": -1, "y": 7000})
    assert nodes[0]["attributes"]["data"] == [
        ("speedLimits", [{"type": "vehicleMaxSpeed", "speed": 695}])
    ]
    # Egress lane 2 starts at the junction already; a 3.0 m lane among 3.5 m ones: dWidth.
    _, nodes = lanes[2]["nodeList"]
    assert nodes[0]["delta"] == ("node-XY2", {"x": 175, "y": 1000})
    assert nodes[0]["attributes"] == {"dWidth": -50}
    assert value["laneWidth"] == 350
    # The boundaries of node-XY1 (Offset-B10: -512..511 cm) and node-XY6 (-32768..32767).
    for offset, kind in [(5.11, "node-XY1"), (5.12, "node-XY2"), (-5.12, "node-XY1")]:
        lane = dataclasses.replace(m.lanes[1], centre_line=((offset, 0.0), (offset, 300.0)))
        moved = dataclasses.replace(m, reference_xy=(0.0, 0.0), lanes=(lane,), connections=())
        _, nodes = mapem_value(moved, 1, ORIGIN)["laneSet"][0]["nodeList"]
        assert nodes[0]["delta"][0] == kind
        assert nodes[1]["delta"][0] == "node-XY6"


def test_what_j2735_cannot_hold_is_refused_naming_the_field() -> None:
    m = crossroads_map()
    far = dataclasses.replace(m.lanes[1], centre_line=((1.75, 10.0), (1.75, 340.0)))
    with pytest.raises(ItsCodecError, match=r"lanes\[1\]\.centre_line\[1\]: .* node-XY6"):
        encode_mapem(
            [(dataclasses.replace(m, lanes=(m.lanes[0], far, *m.lanes[2:])), 1)], ORIGIN, 1
        )
    start_far = dataclasses.replace(m.lanes[1], centre_line=((400.0, 10.0), (1.75, 40.0)))
    with pytest.raises(ItsCodecError, match=r"intersections\[0\]\.lanes\[1\]\.centre_line\[0\]"):
        encode_mapem([(dataclasses.replace(m, lanes=(m.lanes[0], start_far)), 1)], ORIGIN, 1)
    many = tuple(
        Lane(i, "", LaneKind.VEHICLE, LaneDirection.EGRESS, 0, ((0.0, i), (5.0, i)), 3.0)
        for i in range(256)
    )
    big = dataclasses.replace(m, lanes=many, connections=(), crosswalks=(), stop_lines=())
    with pytest.raises(ItsCodecError, match=r"laneSet: J2735 takes 1\.\.255 lanes .* got 256"):
        encode_mapem([(big, 1)], ORIGIN, 1)
    with pytest.raises(ItsCodecError, match=r"id: IntersectionID must be 0\.\.65535"):
        encode_mapem([(m, 65536)], ORIGIN, 1)
    with pytest.raises(ItsCodecError, match=r"intersection_id: a J2735 DescriptiveName"):
        encode_mapem([(dataclasses.replace(m, intersection_id="x" * 64), 1)], ORIGIN, 1)
    walk = dataclasses.replace(m.crosswalks[0], crosses=(1, 2, 3, 4, 5, 6))
    with pytest.raises(ItsCodecError, match=r"crosswalks\[0\]\.crosses: .* at most 5"):
        encode_mapem([(dataclasses.replace(m, crosswalks=(walk,)), 1)], ORIGIN, 1)
    wide = dataclasses.replace(m.lanes[1], width_m=9.0)
    with pytest.raises(ItsCodecError, match=r"lanes\[1\]\.width_m: .*dWidth"):
        encode_mapem(
            [(dataclasses.replace(m, lanes=(m.lanes[0], wide, *m.lanes[2:])), 1)], ORIGIN, 1
        )
    with pytest.raises(ItsCodecError, match="StationID"):
        encode_mapem([(m, 1)], ORIGIN, station_id=2**32)
    with pytest.raises(ItsCodecError, match="not a MAPEM"):
        decode_mapem(b"\x02\x05", ORIGIN)


def tshark(pcap: Path, *args: str) -> str:
    assert TSHARK is not None
    out = subprocess.run(
        [TSHARK, "-r", str(pcap), *args], capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout


@needs_tshark
def test_wireshark_decodes_our_mapem_with_the_values_we_sent(tmp_path: Path) -> None:
    m = rich_map()
    sender = Sender(b"\x02\x00\x00\x00\x00\x01", ORIGIN)
    pdu = encode_mapem([(m, 77)], ORIGIN, station_id=4242)
    pcap = tmp_path / "mapem.pcap"
    write_pcap(
        pcap, [(NOW, ethernet(geonetworking_shb(pdu, BTP_PORT_MAPEM, sender, NOW), sender.mac))]
    )
    verbose = tshark(pcap, "-V")
    assert "Malformed" not in verbose and "[Expert Info (Error" not in verbose, verbose
    fields = ["frame.protocols", "btpb.dstport", "its.messageID", "its.stationID", "dsrc.id"]
    fields += ["dsrc.laneID", "dsrc.signalGroup", "dsrc.connectionID", "dsrc.LaneID"]
    fields += ["dsrc.speed", "_ws.malformed", "_ws.expert.severity"]
    cmd = ["-T", "fields", "-E", "separator=;", "-E", "occurrence=a"]
    for f in fields:
        cmd += ["-e", f]
    [line] = tshark(pcap, *cmd).splitlines()
    row = dict(zip(fields, line.split(";"), strict=True))
    assert row["frame.protocols"] == "eth:ethertype:gnw:btpb:its"
    assert (row["btpb.dstport"], row["its.messageID"], row["its.stationID"]) == (
        "2003",
        "5",
        "4242",
    )
    assert row["dsrc.id"] == "77"
    assert row["_ws.malformed"] == "" and row["_ws.expert.severity"] == ""
    lane_ids = [lane.lane_id for lane in m.lanes] + [x.crosswalk_id for x in m.crosswalks]
    assert [int(v) for v in row["dsrc.laneID"].split(",")] == lane_ids
    # Connections in lane order, then the crosswalk's own group.
    by_lane = [c for lane in m.lanes for c in m.connections if c.from_lane == lane.lane_id]
    groups = [c.signal_group for c in by_lane if c.signal_group is not None]
    assert [int(v) for v in row["dsrc.signalGroup"].split(",")] == [*groups, 6]
    assert [int(v) for v in row["dsrc.connectionID"].split(",")] == [
        c.connection_id for c in by_lane
    ]
    assert row["dsrc.LaneID"] == "1,2"  # the crosswalk's overlays: the lanes it crosses
    assert row["dsrc.speed"] == "695"
