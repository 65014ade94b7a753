"""A SUMO junction as the kernel's intersection map and the SPaT predictor's program, built from
a real four-arm signalised crossing that ``netconvert`` makes in the test."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from hil.cli import BUNDLED
from hil.errors import ScenarioError
from hil.geo import NetToEnu
from hil.intersection import (
    SumoIntersection,
    build_intersection,
    net_to_enu,
    read_net,
    signalised_junctions,
)
from tests.sumo_nets import four_arm_crossing
from vicoop.intersection import LaneDirection, LaneKind, Manoeuvre, validate
from vicoop.model import GeodeticOrigin
from vicoop.spat import ControlMode, MovementPhaseState

pytest.importorskip("sumolib")

S = MovementPhaseState


def build(folder: Path, tls_type: str = "static") -> tuple[Any, SumoIntersection]:
    net = read_net(four_arm_crossing(folder, tls_type))
    centre = tuple(net.getNode("C").getCoord())
    return net, build_intersection(net, "C", NetToEnu.translation(centre))


def through_group(si: SumoIntersection, from_edge: str, to_edge: str) -> int:
    m = si.map
    (group,) = {
        c.signal_group
        for c in m.connections
        if m.lane(c.from_lane).name.startswith(f"{from_edge}_")
        and m.lane(c.to_lane).name.startswith(f"{to_edge}_")
    }
    assert group is not None
    return group


def test_a_four_arm_crossing_as_a_map(tmp_path: Path) -> None:
    net, si = build(tmp_path)
    m = si.map
    assert signalised_junctions(net) == ["C"]
    assert (si.junction, si.tls_id, m.intersection_id) == ("C", "C", "C")
    assert validate(m) is m
    assert m.reference_xy == (0.0, 0.0)  # the junction is the ENU origin

    # Two vehicle lanes in and two out on every arm; the arms are approaches 1..4
    # counter-clockwise from east, an arm's ingress and egress lanes sharing its id.
    by_name = {lane.name: lane for lane in m.lanes}
    for arm, approach in [("E", 1), ("N", 2), ("W", 3), ("S", 4)]:
        for k in (1, 2):
            ingress, egress = by_name[f"{arm}C_{k}"], by_name[f"C{arm}_{k}"]
            assert ingress.direction is LaneDirection.INGRESS
            assert egress.direction is LaneDirection.EGRESS
            assert ingress.approach == egress.approach == approach
            assert ingress.kind is egress.kind is LaneKind.VEHICLE
            assert ingress.speed_limit_mps == pytest.approx(13.89)
    assert len(m.lanes) == 16 and len(m.connections) == 16
    # Ingress lanes run towards the junction and stop at its edge: the south arm's go north.
    south = by_name["SC_1"]
    assert south.end_direction == pytest.approx((0.0, 1.0))
    assert -15.0 < south.centre_line[-1][1] < 0.0 < south.centre_line[-1][0]
    assert south.line.length == pytest.approx(150.0, abs=0.01)  # clipped to lane_length_m
    assert south.manoeuvres == Manoeuvre.STRAIGHT | Manoeuvre.RIGHT
    assert by_name["SC_2"].manoeuvres == Manoeuvre.STRAIGHT | Manoeuvre.LEFT
    # Each ingress lane has exactly one stop line, across its end.
    assert sorted(s.lane_id for s in m.stop_lines) == sorted(
        lane.lane_id for lane in m.lanes if lane.direction is LaneDirection.INGRESS
    )

    # Every connection is released by a group of the map, every link of the light has one.
    assert all(c.signal_group in m.group_ids for c in m.connections)
    assert all(x.signal_group in m.group_ids for x in m.crosswalks)
    assert sorted(i for _, i in si.groups) == list(range(20))
    assert set(si.groups.values()) == set(m.group_ids)

    # The conflict matrix is symmetric, and the axes' through movements cross.
    pairs = set(m.conflicts)
    assert all((b, a) in pairs for a, b in pairs)
    ns, sn = through_group(si, "NC", "CS"), through_group(si, "SC", "CN")
    ew, we = through_group(si, "EC", "CW"), through_group(si, "WC", "CE")
    assert ns == sn and ew == we and ns != ew  # one group per axis: same letters always
    assert ew in m.conflicting(ns) and ns in m.conflicting(ew)
    # Opposing through movements do not conflict with each other (they are one group).
    assert ns not in m.conflicting(ns)

    # Four crosswalks, one per arm, each crossing that arm's four lanes; the one over the
    # north arm conflicts with the north-south through movement, not with east-west.
    assert len(m.crosswalks) == 4
    north_walk = next(x for x in m.crosswalks if {by_name["NC_1"].lane_id} <= set(x.crosses))
    assert {m.lane(i).name for i in north_walk.crosses} == {"NC_1", "NC_2", "CN_1", "CN_2"}
    assert north_walk.signal_group is not None
    assert ns in m.conflicting(north_walk.signal_group)
    assert ew not in m.conflicting(north_walk.signal_group)


def test_the_program_of_a_static_light(tmp_path: Path) -> None:
    _, si = build(tmp_path)
    p = si.program
    assert p.mode is ControlMode.FIXED_TIME and p.groups == si.map.group_ids
    assert p.cycle_ns == 90_000_000_000  # netconvert's default: 37 + 5 + 3, twice
    ns = p.index(through_group(si, "NC", "CS"))
    ew = p.index(through_group(si, "EC", "CW"))
    assert [ph.states[ns] for ph in p.phases] == [S.PROTECTED_MOVEMENT_ALLOWED] * 2 + [
        S.PROTECTED_CLEARANCE
    ] + [S.STOP_AND_REMAIN] * 3
    assert [ph.states[ew] for ph in p.phases][3] is S.PROTECTED_MOVEMENT_ALLOWED
    assert all(ph.min_ns == ph.duration_ns == ph.max_ns for ph in p.phases)
    # What the light shows, by group.
    states = si.group_states(net_state(tmp_path, 0))
    assert states[through_group(si, "NC", "CS")] == "G"
    assert states[through_group(si, "EC", "CW")] == "r"


def net_state(folder: Path, phase: int) -> str:
    net = read_net(folder / "x.net.xml")
    (program,) = net.getTLS("C").getPrograms().values()
    return str(program.getPhases()[phase].state)


def test_the_program_of_an_actuated_light_keeps_its_bounds(tmp_path: Path) -> None:
    _, si = build(tmp_path, "actuated")
    p = si.program
    assert p.mode is ControlMode.ACTUATED
    ns = p.index(through_group(si, "NC", "CS"))
    greens = [ph for ph in p.phases if ph.states[ns] is S.PROTECTED_MOVEMENT_ALLOWED]
    assert [(g.min_ns, g.duration_ns, g.max_ns) for g in greens] == [
        (5_000_000_000, 37_000_000_000, 50_000_000_000),
        (5_000_000_000, 5_000_000_000, 5_000_000_000),
    ]


def test_a_junction_without_a_light_is_refused(tmp_path: Path) -> None:
    net, _ = build(tmp_path)
    to_enu = NetToEnu.translation((0.0, 0.0))
    with pytest.raises(ScenarioError, match="junction 'N': no traffic light controls it"):
        build_intersection(net, "N", to_enu)
    with pytest.raises(ScenarioError, match="junction 'Q': not in the net"):
        build_intersection(net, "Q", to_enu)
    (tmp_path / "bad.net.xml").write_text("<net")
    with pytest.raises(ScenarioError, match="not a readable SUMO network"):
        read_net(tmp_path / "bad.net.xml")


def test_the_bundled_crossing_in_a_sites_enu_frame() -> None:
    net = read_net(BUNDLED / "crossing.net.xml")
    assert net.hasGeoProj() and signalised_junctions(net) == ["B1"]
    xy = tuple(net.getNode("B1").getCoord())
    lon, lat = net.convertXY2LonLat(*xy)
    si = build_intersection(net, "B1", net_to_enu(net, GeodeticOrigin(lat, lon), xy), "b1", 100.0)
    m = si.map
    assert validate(m) is m and m.intersection_id == "b1"
    assert m.reference_xy == pytest.approx((0.0, 0.0), abs=0.01)  # the origin is at the junction
    # B2 lies north of B1: its lanes into B1 are approach 2 and head south, in true ENU: the
    # net's grid north (UTM zone 32 at 6.95 E) is 1.6 degrees west of it.
    north = [lane for lane in m.lanes if lane.name.startswith("B2B1_")]
    assert {lane.approach for lane in north} == {2}
    for lane in north:
        dx, dy = lane.end_direction
        assert math.degrees(math.atan2(dx, -dy)) == pytest.approx(1.59, abs=0.05)
    assert all(lane.line.length == pytest.approx(100.0, abs=0.5) for lane in north)
    pairs = set(m.conflicts)
    assert pairs and all((b, a) in pairs for a, b in pairs)
    assert si.program.cycle_ns == 90_000_000_000 and len(si.program.phases) == 4
