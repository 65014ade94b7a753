"""``vicoop signals eval``: a SUMO scenario run closed loop under each controller asked for, and
the figures of every run (``hil.signals_eval.metrics``).

Controllers, by name:

- SUMO's own controllers (``BASELINES``): ``sumo_actuated`` and ``sumo_delay_based`` run the
  scenario on its net with the traffic lights rebuilt for them (``netconvert --tls.rebuild
  --tls.default-type actuated|delay_based``, into the work folder: the scenario folder is left
  as it is). Relabelling the city programs as actuated instead would make them worse, not
  better: they have no detectors and no min/max durations of their own;
- the cloud's coordinators (``cloud.coordination.REGISTRY``: ``fixed``, ``max_pressure``,
  ``adaptive``), each run closed loop on the scenario's own net and city programs
  (``hil.signals_eval.loop``): ``fixed`` issues no command, so its run is the city program as
  shipped.

Every run uses the scenario's ``.sumocfg`` as it is (its begin, its step length: SUMO's default
1 s unless it says otherwise), the same seed, and ends at ``begin + duration_s`` (default: the
``.sumocfg``'s end).
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.errors import ScenarioError
from hil.signals_eval.loop import closed_loop
from hil.signals_eval.metrics import TripFigures, read_tripinfo
from hil.signals_eval.sim import SUMO_DEFAULT_SEED, eval_sim, scenario_window
from hil.site import find_sumocfg
from hil.sumo import net_file, rebuilt_net

__all__ = [
    "BASELINES",
    "ControllerResult",
    "EvalOptions",
    "EvalResult",
    "controller_names",
    "run_eval",
    "run_one",
]

log = logging.getLogger(__name__)

# SUMO's own controllers: the name in the JSON -> netconvert's --tls.default-type.
BASELINES: dict[str, str] = {"sumo_actuated": "actuated", "sumo_delay_based": "delay_based"}


def controller_names() -> tuple[str, ...]:
    """Every controller ``run_eval`` knows: the coordinators, then SUMO's own."""
    from cloud.coordination import REGISTRY

    return (*REGISTRY, *BASELINES)


@dataclass(frozen=True)
class EvalOptions:
    """One evaluation: ``scenario`` (a folder or its ``.sumocfg``), the controllers by name,
    ``duration_s`` simulated seconds from the scenario's begin (None: to its end), the SUMO
    seed, and the folder for rebuilt nets and SUMO's outputs."""

    scenario: Path
    controllers: tuple[str, ...]
    workdir: Path
    duration_s: float | None = None
    seed: int = SUMO_DEFAULT_SEED

    def __post_init__(self) -> None:
        known = controller_names()
        unknown = [c for c in self.controllers if c not in known]
        if unknown:
            raise ScenarioError(
                f"--controller: unknown {', '.join(unknown)} (known: {', '.join(known)})"
            )
        if not self.controllers:
            raise ScenarioError("--controller: name at least one controller")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ScenarioError(f"--duration: {self.duration_s} s is not a positive duration")


@dataclass(frozen=True)
class ControllerResult:
    """One controller's run: its trip figures, the safety violations the monitor counted
    (None: not checked), the commands its coordinator issued and the supervisor refused, and
    the run's wall time (s)."""

    figures: TripFigures
    wall_s: float
    commands: int = 0
    refused_commands: int = 0
    safety_violations: int | None = None

    def to_json(self) -> dict[str, Any]:
        f = self.figures
        return {
            "mean_delay_s": f.mean_delay_s,
            "mean_stops": f.mean_stops,
            "throughput": f.throughput,
            "co2_g_per_vehicle": f.co2_g_per_vehicle,
            "safety_violations": self.safety_violations,
            "refused_commands": self.refused_commands,
            "commands": self.commands,
            "trips": f.trips,
            "unfinished": f.unfinished,
            "undeparted": f.undeparted,
            "wall_s": round(self.wall_s, 1),
        }


@dataclass(frozen=True)
class EvalResult:
    """Every controller's run of one scenario."""

    scenario: str
    duration_s: float
    controllers: dict[str, ControllerResult] = field(default_factory=dict)
    wall_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "duration_s": self.duration_s,
            "controllers": {k: v.to_json() for k, v in self.controllers.items()},
            "wall_s": round(self.wall_s, 1),
        }


def run_one(name: str, sumocfg: Path, end_s: float, workdir: Path, seed: int) -> ControllerResult:
    """One controller's run of ``sumocfg`` to ``end_s`` (in this process: libsumo runs one
    simulation per process)."""
    t0 = time.monotonic()
    own_net = net_file(sumocfg)
    tripinfo = workdir / f"{name}.tripinfo.xml"
    if name in BASELINES:
        net = rebuilt_net(own_net, workdir, BASELINES[name])
        sim = eval_sim(sumocfg, net, end_s, tripinfo, seed)
        stats = closed_loop(None, sim, end_s, workdir, seed)
    else:
        sim = eval_sim(sumocfg, own_net, end_s, tripinfo, seed)
        stats = closed_loop(name, sim, end_s, workdir, seed)
    return ControllerResult(
        read_tripinfo(tripinfo),
        time.monotonic() - t0,
        commands=stats.commands,
        refused_commands=stats.refused,
        safety_violations=stats.safety_violations,
    )


def run_eval(options: EvalOptions) -> EvalResult:
    """Run every controller of ``options`` on the scenario, one after the other, each in a
    fresh process: libsumo keeps state from one simulation to the next in a process (a SUMO
    actuated run after a supervised one in the same process gave other figures: cologne1,
    1200 s, 36.7 s mean delay instead of 28.9), so no run may inherit another's."""
    started = time.monotonic()
    sumocfg = find_sumocfg(options.scenario)
    begin, end = scenario_window(sumocfg, options.duration_s)
    options.workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, ControllerResult] = {}
    spawn = multiprocessing.get_context("spawn")
    for name in options.controllers:
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            results[name] = pool.submit(
                run_one, name, sumocfg, end, options.workdir, options.seed
            ).result()
        log.info("signals eval: %s done in %.1f s", name, results[name].wall_s)
    return EvalResult(str(options.scenario), end - begin, results, time.monotonic() - started)
