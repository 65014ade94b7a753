"""GLOSA in the rig (``hil.glosa``): the seeded equipped choice, the advisory from the MAP and
SPaT a vehicle received, the speed commands, the figures from SUMO's tripinfo, and a real
lock-step run with ``--glosa 0.5``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hil.errors import HilError
from hil.geo import NetToEnu
from hil.glosa import (
    GlosaFleet,
    Observed,
    advice_for,
    glosa_figures,
    is_equipped,
    queue_clear_s,
    read_tripinfo,
    validate_fraction,
)
from hil.intersection import build_intersection, read_net
from hil.rig import Rig, RigOptions
from hil.site import load_site
from tests.conftest import run_vicoop
from vehicle.glosa import Advice, Vehicle
from vicoop.intersection import IntersectionMap
from vicoop.model import NS_PER_S
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

BUNDLED = Path(__file__).parents[2] / "hil" / "scenarios" / "crossing"
T0 = 1_700_000_000 * NS_PER_S
RED = MovementPhaseState.STOP_AND_REMAIN
GREEN = MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED


def test_the_equipped_choice_is_seeded_and_reproducible() -> None:
    ids = [f"veh{i}" for i in range(4000)]
    first = [v for v in ids if is_equipped(v, 7, 0.5)]
    assert first == [v for v in ids if is_equipped(v, 7, 0.5)]  # the same run again
    assert 0.45 < len(first) / len(ids) < 0.55
    assert first != [v for v in ids if is_equipped(v, 8, 0.5)]  # another seed, another choice
    # A vehicle equipped at 0.3 is equipped at 0.6 (one draw per vehicle), none at 0, all at 1.
    assert {v for v in ids if is_equipped(v, 7, 0.3)} <= {v for v in ids if is_equipped(v, 7, 0.6)}
    assert not any(is_equipped(v, 7, 0.0) for v in ids)
    assert all(is_equipped(v, 7, 1.0) for v in ids)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf])
def test_a_fraction_outside_0_to_1_is_rejected_naming_the_option(bad: float) -> None:
    with pytest.raises(HilError, match="--glosa"):
        validate_fraction(bad)
    assert validate_fraction(0.25) == 0.25


def test_the_command_line_rejects_a_bad_fraction() -> None:
    result = run_vicoop("hil", "run", "--glosa", "1.5", timeout_s=60)
    assert result.returncode == 2
    assert "--glosa" in result.stderr and "[0, 1]" in result.stderr


def test_glosa_needs_lockstep() -> None:
    site = load_site(BUNDLED / "crossing.site.yaml")
    options = RigOptions(BUNDLED / "crossing.sumocfg", site, realtime=True, glosa=0.5)
    with pytest.raises(HilError, match="lock-step"):
        Rig(options)


def _advice(speed: float) -> Advice:
    return Advice(speed, T0, T0, T0, True)


def test_a_vehicle_follows_its_advice_and_is_released_without_one() -> None:
    fleet = GlosaFleet()
    assert fleet.update({"a": _advice(9.0), "b": None}) == [("a", 9.0)]
    assert fleet.update({"a": _advice(9.0)}) == []  # held: nothing to say again
    assert fleet.update({"a": _advice(8.0)}) == [("a", 8.0)]
    assert fleet.update({"a": None}) == [("a", None)]  # no advice: SUMO's driver again
    assert fleet.update({"a": _advice(7.0)}) == [("a", 7.0)]
    assert fleet.update({}) == [("a", None)]  # past the stop line: on no ingress lane
    assert fleet.controlled == {} and fleet.releases == 2
    assert fleet.advised_vehicles == {"a"} and (fleet.samples, fleet.samples_advised) == (6, 4)
    fleet.update({"c": _advice(6.0)})
    fleet.forget(["c"])  # it left the net: nothing to release
    assert fleet.update({}) == []


@pytest.fixture(scope="module")
def crossing() -> IntersectionMap:
    net = read_net(BUNDLED / "crossing.net.xml")
    to_enu = NetToEnu.translation(tuple(net.getNode("B1").getCoord()[:2]))
    return build_intersection(net, "B1", to_enu, "B1").map


def _spat(events: tuple[MovementEvent, ...]) -> Spat:
    return Spat("B1", T0, 1, ControlMode.FIXED_TIME, events)


def _southbound(m: IntersectionMap, y_m: float, speed: float = 13.0) -> Observed:
    """A car on the north arm's right lane (B2B1_0) heading south, going straight on."""
    lane = next(ln for ln in m.lanes if ln.name == "B2B1_0")
    straight = next(
        c for c in m.connections if c.from_lane == lane.lane_id and c.manoeuvre.name == "STRAIGHT"
    )
    road = m.lane(straight.to_lane).name.rsplit("_", 1)[0]
    x = lane.centre_line[-1][0]
    return Observed("v", x, y_m, -math.pi / 2, speed, road, Vehicle(4.0, 13.9, 2.6, 4.5))


def test_the_advice_comes_from_the_received_spat_of_the_vehicles_own_signal(
    crossing: IntersectionMap,
) -> None:
    m = crossing
    v = _southbound(m, 110.0)  # 100 m before the stop line (at y = 10.4)
    lane = next(ln for ln in m.lanes if ln.name == "B2B1_0")
    group = next(
        c.signal_group
        for c in m.connections
        if c.from_lane == lane.lane_id and m.lane(c.to_lane).name.startswith(v.next_road or "")
    )
    s = NS_PER_S
    red_then_green = (
        MovementEvent(group, RED, T0 + 12 * s, T0 + 12 * s, T0 + 12 * s),
        MovementEvent(group, GREEN, T0 + 40 * s, T0 + 40 * s, T0 + 40 * s),
    )
    advice = advice_for(m, _spat(red_then_green), v, T0)
    assert advice is not None
    # 100 m at 13.9 m/s is 7.2 s: slower, to arrive after the red's end (plus the 1 s margin).
    assert 4.0 <= advice.speed_mps < 13.0
    assert T0 + 13 * s <= advice.arrival_ns <= T0 + 39 * s
    # Another group's red says nothing about this vehicle's signal.
    other = tuple(
        MovementEvent(g.signal_group, RED, T0 + 12 * s, T0 + 12 * s, T0 + 12 * s)
        for g in m.signal_groups
        if g.signal_group != group
    )
    assert advice_for(m, _spat(other), v, T0) is None
    assert advice_for(m, None, v, T0) is None  # no SPaT received yet
    # Green long enough: drive on at the top speed.
    green = (MovementEvent(group, GREEN, T0 + 30 * s, T0 + 30 * s, T0 + 30 * s),)
    go = advice_for(m, _spat(green), v, T0)
    assert go is not None and go.speed_mps == 13.9 and go.window_end_ns == T0 + 30 * s
    # Past the stop line (in the junction) or on the wrong side of the road: no ingress lane.
    assert advice_for(m, _spat(red_then_green), _southbound(m, 5.0), T0) is None
    wrong_way = Observed("v", v.x_m, 110.0, math.pi / 2, 13.0, v.next_road, v.limits)
    assert advice_for(m, _spat(red_then_green), wrong_way, T0) is None
    # A road the junction does not lead to from here: no manoeuvre, no advice.
    lost = Observed("v", v.x_m, 110.0, -math.pi / 2, 13.0, "nowhere", v.limits)
    assert advice_for(m, _spat(red_then_green), lost, T0) is None


TRIPINFO = """<?xml version="1.0" encoding="UTF-8"?>
<tripinfos>
  <tripinfo id="{a}" depart="100.00" arrival="180.00" waitingCount="2" routeLength="1500">
    <emissions CO_abs="1" CO2_abs="300000.0" HC_abs="0" PMx_abs="0" NOx_abs="0" fuel_abs="1"
               electricity_abs="0"/>
  </tripinfo>
  <tripinfo id="{b}" depart="110.00" arrival="170.00" waitingCount="0">
    <emissions CO2_abs="200000.0"/>
  </tripinfo>
  <tripinfo id="early" depart="10.00" arrival="90.00" waitingCount="5">
    <emissions CO2_abs="900000.0"/>
  </tripinfo>
  <tripinfo id="elsewhere" depart="120.00" arrival="160.00" waitingCount="3">
    <emissions CO2_abs="900000.0"/>
  </tripinfo>
</tripinfos>
"""


def test_the_figures_come_from_sumos_tripinfo(tmp_path: Path) -> None:
    ids = [f"veh{i}" for i in range(50)]
    a = next(v for v in ids if not is_equipped(v, 1, 0.5))
    b = next(v for v in ids if is_equipped(v, 1, 0.5))
    path = tmp_path / "tripinfo.xml"
    path.write_text(TRIPINFO.format(a=a, b=b), encoding="utf-8")
    trips = read_tripinfo(path)
    assert [t.vehicle_id for t in trips] == [a, b, "early", "elsewhere"]
    fleet = GlosaFleet()
    fleet.update({b: _advice(8.0)})
    # "early" departed during the warm-up, "elsewhere" never passes an RSU's MAP: not counted.
    f = glosa_figures(
        trips, fraction=0.5, seed=1, start_s=60.0, counted={a, b, "early"}, fleet=fleet
    )
    assert (f.equipped.vehicles, f.equipped.stops_per_vehicle, f.equipped.co2_g_per_vehicle) == (
        1,
        0.0,
        200.0,
    )
    assert (f.unequipped.vehicles, f.unequipped.stops_per_vehicle) == (1, 2.0)
    assert f.unequipped.co2_g_per_vehicle == 300.0
    assert f.unequipped.co2_g_per_km == 200.0  # 300 g over 1.5 km
    assert f.equipped.co2_g_per_km is None  # a trip without its route length
    assert f.stops_reduction == 1.0 and f.co2_reduction == pytest.approx(1 / 3, abs=1e-4)
    assert f.equipped_advised == 1 and f.advice_share == 1.0


def test_a_tripinfo_without_emissions_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "tripinfo.xml"
    path.write_text(
        '<tripinfos><tripinfo id="x" depart="70" arrival="80" waitingCount="1"/></tripinfos>',
        encoding="utf-8",
    )
    with pytest.raises(HilError, match="emissions"):
        glosa_figures(
            read_tripinfo(path),
            fraction=0.5,
            seed=1,
            start_s=60.0,
            counted={"x"},
            fleet=GlosaFleet(),
        )
    with pytest.raises(HilError, match="tripinfo"):
        read_tripinfo(tmp_path / "missing.xml")


@pytest.mark.slow
@pytest.mark.timeout(900)  # a shared machine runs 100 simulated seconds in 1 to 5 minutes
def test_a_lockstep_run_with_half_the_vehicles_equipped(tmp_path: Path) -> None:
    pytest.importorskip("libsumo")
    out = tmp_path / "out.json"
    result = run_vicoop(
        "hil",
        "run",
        "--warmup",
        "30",
        "--duration",
        "100",
        "--clients",
        "1",
        "--glosa",
        "0.5",
        "--json",
        str(out),
        "--workdir",
        str(tmp_path),
        timeout_s=850,
    )
    assert result.returncode == 0, result.stderr
    g = json.loads(out.read_text())["glosa"]
    assert g["fraction"] == 0.5
    for name in ("equipped", "unequipped"):
        group = g[name]
        assert {"vehicles", "stops_per_vehicle", "co2_g_per_vehicle"} <= set(group)
        assert group["vehicles"] > 0
        assert 0.0 <= group["stops_at_signals_per_vehicle"] <= group["stops_per_vehicle"] <= 5.0
        # A few hundred metres through a city crossing: tens to hundreds of grams (buses more).
        assert 10.0 <= group["co2_g_per_vehicle"] <= 2000.0
    # Equipped vehicles were advised from the SPaT they received.
    assert 0 < g["equipped_advised"] <= g["equipped"]["vehicles"]
    assert 0.0 < g["advice_share"] <= 1.0


def test_the_queue_ahead_is_estimated_from_the_front_sensor() -> None:
    assert queue_clear_s(100.0, None) == 0.0  # nothing ahead
    assert queue_clear_s(100.0, (40.0, 12.0)) == 0.0  # a moving car ahead is no queue
    # A queued car 40 m ahead, 100 m before the line: 60 m of queue, 8 cars.
    assert queue_clear_s(100.0, (40.0, 0.0)) == 2.0 + 2.0 * 8
    assert queue_clear_s(100.0, (120.0, 0.0)) == 0.0  # beyond the stop line: not our queue
