"""``vicoop signals …``: the signal coordinators judged closed loop on SUMO.

::

    vicoop signals eval --scenario NAME|PATH --controller NAME[,NAME...]|all [--duration S]
                        [--seed N] [--workdir DIR] [--json]

``NAME|PATH`` as for ``vicoop hil run`` (a scenario folder or its ``.sumocfg``, or a name from
``vicoop hil scenarios list``); the controllers: the cloud's coordinators (``fixed``,
``max_pressure``, ``adaptive``) and SUMO's own (``sumo_actuated``, ``sumo_delay_based``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from hil.cli import BUNDLED
from hil.scenarios import BUNDLED_DIR, default_dir, resolve
from hil.signals_eval.run import EvalOptions, controller_names, run_eval
from hil.signals_eval.sim import SUMO_DEFAULT_SEED

__all__ = ["add_parser"]


def _eval(args: argparse.Namespace) -> int:
    names = (
        controller_names()
        if args.controller == "all"
        else tuple(n.strip() for n in args.controller.split(",") if n.strip())
    )
    scenario = resolve(args.scenario, BUNDLED_DIR, default_dir(os.environ, Path.home()))
    with tempfile.TemporaryDirectory(prefix="vicoop-signals-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        options = EvalOptions(scenario, names, workdir, args.duration, args.seed)
        started = time.monotonic()
        result = run_eval(options)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"{result.scenario}: {result.duration_s:g} s simulated")
        print(f"{'controller':<18}{'delay s':>9}{'stops':>7}{'arrived':>9}{'CO2 g/veh':>11}")
        for name, r in result.controllers.items():
            f = r.figures
            print(
                f"{name:<18}{f.mean_delay_s:>9.1f}{f.mean_stops:>7.2f}{f.throughput:>9d}"
                f"{f.co2_g_per_vehicle:>11.0f}"
            )
    print(f"signals eval: {time.monotonic() - started:.1f} s wall", file=sys.stderr)
    return 0


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    signals = roles.add_parser(
        "signals", help="signal coordination: judge coordinators closed loop on SUMO"
    )
    commands = signals.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ev = commands.add_parser(
        "eval",
        help="run a SUMO scenario closed loop under each controller; delay, stops, throughput, CO2",
    )
    ev.add_argument(
        "--scenario",
        default=str(BUNDLED),
        help="scenario name (vicoop hil scenarios list), folder or .sumocfg "
        "(default: the bundled crossing)",
    )
    ev.add_argument(
        "--controller",
        default="all",
        help=f"comma-separated: {', '.join(controller_names())}; or all (default)",
    )
    ev.add_argument(
        "--duration",
        type=float,
        help="simulated seconds from the scenario's begin (default: to its end)",
    )
    ev.add_argument(
        "--seed",
        type=int,
        default=SUMO_DEFAULT_SEED,
        help=f"SUMO's seed (default {SUMO_DEFAULT_SEED}, SUMO's own)",
    )
    ev.add_argument(
        "--workdir", help="keep rebuilt nets and SUMO's outputs here (default: a temporary folder)"
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(run=_eval)
