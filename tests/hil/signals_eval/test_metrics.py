"""The evaluation's delay counts every trip: a real SUMO run of a crossing whose demand exceeds
what its light can serve in the run, so that some cars are still queued at the end and some
never get onto the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.signals_eval import EvalOptions, read_tripinfo, run_eval
from tests.sumo_nets import four_arm_crossing

pytest.importorskip("libsumo")

END_S = 300
PERIOD_S = 1.0  # one car a second on each arm: 3600 veh/h into a light that gives it half


def oversaturated(folder: Path) -> Path:
    net = four_arm_crossing(folder)
    flows = "".join(
        f'<flow id="{a}{b}" begin="0" end="{END_S}" period="{PERIOD_S}" from="{a}C" to="C{b}"/>'
        for a, b in [("N", "S"), ("S", "N"), ("E", "W"), ("W", "E")]
    )
    (folder / "heavy.rou.xml").write_text(f"<routes>{flows}</routes>\n")
    cfg = folder / "heavy.sumocfg"
    cfg.write_text(
        "<configuration><input>"
        f'<net-file value="{net.name}"/><route-files value="heavy.rou.xml"/>'
        f'</input><time><begin value="0"/><end value="{END_S}"/></time></configuration>\n'
    )
    return cfg


def test_unfinished_and_undeparted_trips_count_in_the_delay(tmp_path: Path) -> None:
    cfg = oversaturated(tmp_path / "net")
    result = run_eval(EvalOptions(cfg, ("fixed",), tmp_path / "work"))
    fixed = result.controllers["fixed"].figures
    # Every car the flows want to start before the end is a trip, on the network or not.
    assert fixed.trips == 4 * round(END_S / PERIOD_S)
    assert fixed.undeparted > 0
    assert fixed.unfinished > 0
    assert fixed.arrived + fixed.unfinished + fixed.undeparted == fixed.trips
    assert result.controllers["fixed"].to_json()["throughput"] == fixed.arrived


def test_the_delay_is_the_mean_of_time_loss_and_depart_delay_over_all_trips(
    tmp_path: Path,
) -> None:
    trips = tmp_path / "t.xml"
    trips.write_text(
        "<tripinfos>"
        '<tripinfo id="a" depart="1" departDelay="1" arrival="30" timeLoss="9" '
        'waitingCount="2"><emissions CO2_abs="1000"/></tripinfo>'
        '<tripinfo id="b" depart="5" departDelay="0" arrival="-1" timeLoss="20" '
        'waitingCount="1" vaporized="end"><emissions CO2_abs="3000"/></tripinfo>'
        '<tripinfo id="c" depart="-1" departDelay="30" arrival="-1" timeLoss="0" '
        'waitingCount="0" vaporized="end"/>'
        "</tripinfos>\n"
    )
    f = read_tripinfo(trips)
    assert (f.trips, f.arrived, f.unfinished, f.undeparted) == (3, 1, 1, 1)
    assert f.mean_delay_s == pytest.approx((10 + 20 + 30) / 3, abs=0.01)
    assert f.mean_stops == pytest.approx(1.0)
    assert f.co2_g_per_vehicle == pytest.approx(4.0 / 3, abs=0.1)
