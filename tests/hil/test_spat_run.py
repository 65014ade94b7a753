"""The rig measures SPaT: the RSU's own SPaT path (in lock-step the libsumo controller adapter,
in real time the JSON-over-UDP controller input the rig feeds; the predictor, StreamSpat) judged
against SUMO's traffic light, and lane matching on the MAP the RSU serves (``hil.rigspat``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hil.geo import NetToEnu
from hil.intersection import build_intersection, read_net
from hil.rigspat import RigSpat, SpatProbe, with_spat
from hil.spat import SumoSignalController
from roadside.config import RsuConfig
from roadside.map_config import IntersectionMapConfig, _at_most_63
from tests.conftest import run_vicoop
from vicoop.intersection import IntersectionMap
from vicoop.spat import ControllerReading, ControlMode, GroupReading, MovementEvent, Spat
from vicoop.spat import MovementPhaseState as P

pytest.importorskip("libsumo")
BUNDLED = Path(__file__).parents[2] / "hil" / "scenarios" / "crossing"


@pytest.mark.slow
def test_a_lockstep_run_judges_the_spat_a_vehicle_received(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    # 60 s of warm-up then 50 s: the light's switches at 87 s and 90 s (six group changes).
    result = run_vicoop(
        "hil",
        "run",
        "--duration",
        "50",
        "--clients",
        "1",
        "--json",
        str(out),
        "--workdir",
        str(tmp_path),
        timeout_s=300,
    )
    assert result.returncode == 0, result.stderr
    r = json.loads(out.read_text())
    spat = r["spat"]
    assert r["spat_not_measured"] is None and spat["intersections"] == ["B1"]
    assert set(spat["latency_ms"]) == {"p50", "p99", "max"}
    assert 0 < spat["latency_ms"]["p50"] <= spat["latency_ms"]["p99"] <= spat["latency_ms"]["max"]
    assert spat["changes"] > 0 and spat["outside_window"] == 0
    assert spat["predictions_judged"] > 0 and spat["updates_received"] > 0
    # A fixed-time light read through SUMO's own next switch: the likely end is the end.
    assert set(spat["likely_end_error_s"]) == {"fixed_time"}
    assert spat["likely_end_error_s"]["fixed_time"]["p90"] <= 0.1
    assert spat["lane_match_samples"] > 100 and 0.9 <= spat["lane_match_rate"] <= 1.0


@pytest.mark.slow
def test_an_actuated_run_keeps_every_change_inside_its_window(tmp_path: Path) -> None:
    """``--actuated``: the bundled crossing's light rebuilt as SUMO's actuated program; the RSU
    times its greens by the road users it tracks, and no change may leave its window."""
    out = tmp_path / "out.json"
    result = run_vicoop(
        "hil",
        "run",
        "--actuated",
        "--duration",
        "60",
        "--clients",
        "1",
        "--json",
        str(out),
        "--workdir",
        str(tmp_path),
        timeout_s=300,
    )
    assert result.returncode == 0, result.stderr
    spat = json.loads(out.read_text())["spat"]
    assert set(spat["likely_end_error_s"]) == {"actuated"}
    assert spat["changes"] > 0 and spat["outside_window"] == 0
    assert spat["likely_end_error_s"]["actuated"]["p50"] is not None


@pytest.mark.slow
def test_a_realtime_run_measures_spat_latency_from_the_lights_change(tmp_path: Path) -> None:
    """``--realtime``: the RSU runs as its own process; the rig feeds it SUMO's light as a
    controller's JSON datagrams and times each change from the SUMO step that made it to the
    vehicle client receiving it."""
    out = tmp_path / "out.json"
    # 60 s of warm-up then 35 s: the light's switches at 87 s and 90 s (six group changes).
    result = run_vicoop(
        "hil",
        "run",
        "--realtime",
        "--duration",
        "35",
        "--clients",
        "1",
        "--json",
        str(out),
        "--workdir",
        str(tmp_path),
        timeout_s=300,
    )
    assert result.returncode == 0, result.stderr
    r = json.loads(out.read_text())
    assert r["mode"] == "realtime" and r["spat_not_measured"] is None
    spat = r["spat"]
    assert "real time" in spat["latency_basis"]
    lat = spat["latency_ms"]
    assert lat["p50"] is not None and 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert spat["changes"] > 0 and spat["outside_window"] == 0
    assert spat["updates_received"] > 0 and spat["changes_not_received"] == 0
    # The fixed-time controller vouches for its next change: the likely end is the end.
    assert spat["likely_end_error_s"]["fixed_time"]["p90"] <= 0.1


def test_realtime_latency_is_from_the_step_that_changed_the_light_to_the_first_spat_showing_it() -> (
    None
):
    """The latency of a change: the first SPaT received after the SUMO step that made it and
    showing the group's new state; a change no SPaT shows is counted as not received."""
    net = read_net(BUNDLED / "crossing.net.xml")
    si = build_intersection(
        net, "B1", NetToEnu.translation(tuple(net.getNode("B1").getCoord()[:2]))
    )
    g = si.program.groups[0]
    probe = SpatProbe("v", "127.0.0.1:1", {}, lambda: 0)
    rig = RigSpat(si, SumoSignalController(si), probe, {}, feed_port=1)
    ms = 1_000_000

    def light(at: int, state: P) -> None:
        rig.observations.append(
            ControllerReading("B1", at, ControlMode.FIXED_TIME, (GroupReading(g, state),))
        )
        rig.observed_wall.append(at)

    def received(at: int, state: P) -> None:
        probe.received.append(
            Spat("B1", at, 0, ControlMode.FIXED_TIME, (MovementEvent(g, state, None, None, None),))
        )
        probe.received_wall.append(at)

    received(0, P.STOP_AND_REMAIN)
    light(10 * ms, P.STOP_AND_REMAIN)
    light(60 * ms, P.PROTECTED_MOVEMENT_ALLOWED)  # the change, at the step ending 60 ms
    received(62 * ms, P.STOP_AND_REMAIN)  # sent before it
    received(75 * ms, P.PROTECTED_MOVEMENT_ALLOWED)  # first showing it: 15 ms
    received(90 * ms, P.PROTECTED_MOVEMENT_ALLOWED)
    light(5_000 * ms, P.PROTECTED_CLEARANCE)  # never shown
    latencies, lost = rig.change_latencies()
    assert latencies == [pytest.approx(0.015)] and lost == 1


def test_in_real_time_the_rsu_gets_the_light_as_a_json_controller() -> None:
    net = read_net(BUNDLED / "crossing.net.xml")
    to_enu = NetToEnu.translation(tuple(net.getNode("B1").getCoord()[:2]))
    configured = with_spat(RsuConfig(), net, "B1", "B1", to_enu, feed_port=45678)
    assert configured is not None
    config, si = configured
    (controller,) = config.spat.controllers
    assert controller.kind == "udp_json" and controller.port == 45678
    assert {(m.group_id, m.signal_group) for m in controller.groups} == {
        (f"sg{g}", g) for g in si.program.groups
    }
    # A fixed-time program's next change is exact (SUMO's own next switch, as sent).
    assert controller.next_change_is_exact is (si.program.mode is ControlMode.FIXED_TIME)


def _same(a: IntersectionMap, b: IntersectionMap) -> bool:
    """Equal maps, conflicts in any order."""
    return replace(a, conflicts=tuple(sorted(a.conflicts))) == replace(
        b, conflicts=tuple(sorted(b.conflicts))
    )


def test_a_sumo_junctions_map_survives_the_rsu_configuration() -> None:
    """What the rig hands the RSU (``map.intersections``) is the MAP it built, lane names (SUMO's
    lane ids, which lane matching is judged by) and all."""

    net = read_net(BUNDLED / "crossing.net.xml")
    to_enu = NetToEnu.translation(tuple(net.getNode("B1").getCoord()[:2]))
    si = build_intersection(net, "B1", to_enu)
    assert _same(IntersectionMapConfig.from_model(si.map).to_model(), si.map)
    configured = with_spat(RsuConfig(), net, "B1", "B1", to_enu)
    assert configured is not None
    config, _ = configured
    (controller,) = config.spat.controllers
    assert controller.kind == "sumo" and controller.tls_id == si.tls_id
    assert {(g.signal_group, i) for g in controller.groups for i in g.links} == {
        (g, i) for (_, i), g in si.groups.items()
    }
    (served,) = config.map.models()
    assert _same(served, si.map)
    # A site entry with SPaT of its own keeps it; a junction without a light gets none.
    assert with_spat(config, net, "B1", "B1", to_enu) is None
    assert with_spat(RsuConfig(), net, "A0", "A0", to_enu) is None


def test_a_long_lane_is_thinned_to_what_the_configuration_takes() -> None:
    line = tuple((float(x), 0.001 * (x % 2)) for x in range(200))
    thin = _at_most_63(line)
    assert len(thin) <= 63 and thin[0] == line[0] and thin[-1] == line[-1]
    assert _at_most_63(line[:10]) == line[:10]
