"""Running SUMO for the evaluation: the one command line of every run, and the run itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from hil.errors import ScenarioError
from hil.sumo import read_sumocfg, sumo_binary

__all__ = ["SUMO_DEFAULT_SEED", "StepHook", "scenario_window", "simulate", "sumo_args"]

# SUMO's own default seed: the scenarios' measured baselines are runs with it.
SUMO_DEFAULT_SEED = 23423

# Called after every simulation step of a closed-loop run with the SUMO time (s) then.
StepHook = Callable[[float], None]


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


def sumo_args(sumocfg: Path, net: Path, end_s: float, tripinfo: Path, seed: int) -> list[str]:
    """The SUMO command line of every run (see ``hil.signals_eval.metrics`` for the outputs)."""
    return [
        sumo_binary(),
        "-c",
        str(sumocfg),
        "-n",
        str(net),
        "--end",
        f"{end_s:g}",
        "--seed",
        str(seed),
        "--tripinfo-output",
        str(tripinfo),
        "--tripinfo-output.write-unfinished",
        "true",
        "--tripinfo-output.write-undeparted",
        "true",
        "--device.emissions.probability",
        "1",
        "--no-step-log",
        "true",
        "--no-warnings",
        "true",
        "--duration-log.disable",
        "true",
    ]


def simulate(args: Sequence[str], end_s: float, hook: StepHook | None = None) -> None:
    """Run SUMO (libsumo, in this process) with ``args`` to ``end_s``, calling ``hook`` after
    every step."""
    import libsumo

    try:
        libsumo.start(list(args))
    except Exception as exc:  # libsumo raises its own TraCIException / FatalTraCIError
        raise ScenarioError(f"SUMO would not start: {exc}") from None
    try:
        if hook is None:
            libsumo.simulationStep(end_s)
        else:
            while float(libsumo.simulation.getTime()) < end_s - 1e-9:
                libsumo.simulationStep()
                hook(float(libsumo.simulation.getTime()))
    finally:
        libsumo.close()
