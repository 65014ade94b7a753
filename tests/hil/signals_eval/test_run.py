"""``vicoop signals eval`` on the bundled crossing, every controller, a short real SUMO run: the
JSON has every controller with sane figures, no safety violation at any step, and the
coordinators' commands went through the RSU's supervisor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli import main
from hil.cli import BUNDLED
from hil.errors import ScenarioError
from hil.signals_eval import EvalOptions, controller_names

pytest.importorskip("libsumo")

KEYS = {
    "mean_delay_s",
    "mean_stops",
    "throughput",
    "co2_g_per_vehicle",
    "safety_violations",
    "refused_commands",
}


def test_eval_gives_every_controller_sane_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["signals", "eval", "--scenario", str(BUNDLED), "--controller", "all",
         "--duration", "240", "--workdir", str(tmp_path), "--json"]
    )  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["duration_s"] == 240
    assert set(out["controllers"]) == set(controller_names())
    for name, figures in out["controllers"].items():
        assert set(figures) >= KEYS, name
        assert figures["mean_delay_s"] >= 0, name
        assert figures["mean_stops"] >= 0, name
        assert figures["throughput"] > 0, name
        assert figures["co2_g_per_vehicle"] > 0, name
        # Every step of every run is judged by the RSU's safety monitor.
        assert figures["safety_violations"] == 0, name
        assert figures["refused_commands"] == 0, name
    # The coordinators that act did act, through the supervisor; fixed never does.
    assert out["controllers"]["fixed"]["commands"] == 0
    assert out["controllers"]["max_pressure"]["commands"] > 0
    assert out["controllers"]["adaptive"]["commands"] > 0
    # SUMO's actuated program is another program than the city's: other figures.
    fixed, actuated = out["controllers"]["fixed"], out["controllers"]["sumo_actuated"]
    assert (fixed["mean_delay_s"], fixed["throughput"]) != (
        actuated["mean_delay_s"],
        actuated["throughput"],
    )


def test_an_unknown_controller_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown green_wave"):
        EvalOptions(BUNDLED, ("fixed", "green_wave"), tmp_path)
