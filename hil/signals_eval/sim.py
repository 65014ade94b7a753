"""Running SUMO for the evaluation: the one SUMO set-up of every run and its time window."""

from __future__ import annotations

from pathlib import Path

from hil.errors import ScenarioError
from hil.sumo import SumoSim, read_sumocfg

__all__ = ["SUMO_DEFAULT_SEED", "eval_sim", "scenario_window"]

# SUMO's own default seed: the scenarios' measured baselines are runs with it.
SUMO_DEFAULT_SEED = 23423


def scenario_window(sumocfg: Path, duration_s: float | None) -> tuple[float, float]:
    """The run's (begin, end) SUMO times (s): the ``.sumocfg``'s begin, and its end or
    ``begin + duration_s``."""
    options = read_sumocfg(sumocfg)
    begin = float(options.get("begin", 0.0))
    if duration_s is not None:
        return begin, begin + duration_s
    if "end" not in options:
        raise ScenarioError(f"{sumocfg}: no end time: give --duration")
    return begin, float(options["end"])


def eval_sim(sumocfg: Path, net: Path, end_s: float, tripinfo: Path, seed: int) -> SumoSim:
    """The SUMO run of every controller: the scenario's ``.sumocfg`` on ``net`` with its own step
    length (SUMO's default 1 s unless it says otherwise), ending at ``end_s``, writing the trips
    to ``tripinfo`` (see ``hil.signals_eval.metrics``)."""
    options = read_sumocfg(sumocfg)
    step = float(options.get("step-length", 1.0))
    extra = (
        "--end", f"{end_s:g}",
        "--tripinfo-output", str(tripinfo),
        "--tripinfo-output.write-unfinished", "true",
        "--tripinfo-output.write-undeparted", "true",
        "--device.emissions.probability", "1",
    )  # fmt: skip
    return SumoSim(sumocfg, step_length_s=step, seed=seed, net=net, extra_args=extra)
