"""The SPaT predictor judged on a SUMO scenario: ``vicoop hil spat-check``.

SUMO runs the scenario's traffic lights; each step, what a controller adapter would report
(``hil.spat.SumoSignalController``: each group's state and since when, nothing else) goes to
the RSU's own SPaT predictor (``roadside.spat``) with the program built from the net
(``hil.intersection``), and ``roadside.spat.SpatChecker`` judges every prediction against the
change SUMO then makes: changes seen, those outside ``[min_end, max_end]`` (a defect, never
hidden), and the ``likely_end`` error. SUMO's vehicles are not used: without the RSU's view of
demand (which the rig's full run gives) an actuated green's likely end is the program's nominal
one. ``actuated=True`` rebuilds the net's lights with ``netconvert --tls.rebuild
--tls.default-type actuated`` first (the issue's actuated case).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hil.errors import ScenarioError
from hil.geo import NetToEnu
from hil.intersection import build_intersection, read_net, signalised_junctions
from hil.site import find_sumocfg
from hil.spat import SumoSignalController
from hil.sumo import net_file, rebuilt_net, sumo_binary
from roadside.spat import SpatChecker, SpatPredictor

__all__ = ["actuated_net", "spat_check"]

T0_NS = 1_700_000_000_000_000_000  # the run's clock at SUMO time 0 (any fixed epoch will do)


def actuated_net(net: Path, workdir: Path) -> Path:
    """``net`` with its traffic lights rebuilt as SUMO actuated programs (``netconvert
    --tls.rebuild --tls.default-type actuated``), written into ``workdir``."""
    return rebuilt_net(net, workdir, "actuated")


def spat_check(
    scenario: Path, seconds: float, *, actuated: bool = False, step_s: float = 0.1, seed: int = 1
) -> dict[str, Any]:
    """Run ``scenario`` for ``seconds`` of SUMO time and judge the SPaT of every signalised
    junction; one JSON-ready dict: per junction and the total."""
    import libsumo

    sumocfg = find_sumocfg(scenario)
    with tempfile.TemporaryDirectory() as tmp:
        net = net_file(sumocfg)
        if actuated:
            net = actuated_net(net, Path(tmp))
        sumo_net = read_net(net)
        intersections = [
            build_intersection(
                sumo_net, j, NetToEnu.translation(tuple(sumo_net.getNode(j).getCoord()))
            )
            for j in signalised_junctions(sumo_net)
        ]
        if not intersections:
            raise ScenarioError(f"{scenario}: no signalised junction")
        step_ns = round(step_s * 1e9)
        controllers = [SumoSignalController(i, step_ns=step_ns) for i in intersections]
        predictors = [SpatPredictor(i.map.intersection_id, i.program) for i in intersections]
        checkers = [SpatChecker() for _ in intersections]
        args = ["-c", str(sumocfg), "-n", str(net), "--step-length", f"{step_s:g}"]
        libsumo.start(
            [sumo_binary(), *args, "--seed", str(seed), "--no-step-log", "true",
             "--no-warnings", "true", "--duration-log.disable", "true"]
        )  # fmt: skip
        try:
            for _ in range(round(seconds / step_s)):
                libsumo.simulationStep()
                now = T0_NS + round(float(libsumo.simulation.getTime()) * 1e9)
                for controller, predictor, checker in zip(
                    controllers, predictors, checkers, strict=True
                ):
                    reading = controller.read(now)
                    checker.observe(reading)
                    checker.record(predictor.predict(reading, now))
        finally:
            libsumo.close()
    junctions = {}
    for i, checker, predictor in zip(intersections, checkers, predictors, strict=True):
        r = checker.report()
        junctions[i.junction] = {
            "control": i.program.mode.name.lower(),
            "changes": r.changes,
            "outside_window": r.changes_outside,
            "predictions": r.predictions,
            "untimed": r.untimed,
            "likely_end_error_s": {
                "p50": r.likely_error_p50_s,
                "p90": r.likely_error_p90_s,
                "max": r.likely_error_max_s,
            },
            "unmatched_readings": predictor.stats.unmatched,
            "ambiguous_readings": predictor.stats.ambiguous,
        }
    return {
        "scenario": str(scenario),
        "seconds": seconds,
        "actuated": actuated,
        "changes": sum(j["changes"] for j in junctions.values()),
        "outside_window": sum(j["outside_window"] for j in junctions.values()),
        "junctions": junctions,
    }
