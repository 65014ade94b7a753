"""The ``vicoop`` command line: one subcommand per role.

::

    vicoop rsu run --config rsu.yaml       run a roadside unit                  (extra: roadside)
    vicoop rsu check-config rsu.yaml       validate a configuration file and print it
    vicoop rsu export-its (--config rsu.yaml | --scenario PATH) --pcap F   MAPEM + SPATEM capture
    vicoop cloud run [--mqtt-url URL] [--db-url URL]   the cloud twin, API, dashboard (extra: cloud)
    vicoop hil run --scenario NAME|PATH    drive the stack from SUMO, inject faults, score it (extra: hil)
    vicoop certs ca|server|rsu|twin|vehicle --dir DIR ...   a pilot's certificates (extra: roadside)
    vicoop signals eval --scenario PATH --controller NAME,... [--duration S] --json   (extra: hil)
    vicoop demo [--duration S]             twin, RSU and rig as deployed       (extra: all)
    vicoop bench stream|fusion|tracking|cloud ... --json   hot-path benchmarks  (extra: all, dev)

Each role's package adds its own subcommands (``roadside.cli``, ``cloud.cli``, ``hil.cli``); this
module only wires them together. A role whose extra is not installed still shows in ``--help``,
with the extra it needs; running it says how to install that extra.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

from vicoop import logs
from vicoop.errors import ConfigError, VicoopError

if TYPE_CHECKING:
    from roadside.its.export import ItsIntersection

# (subcommand, module with add_parser(subparsers), the extra it needs, what it is for)
ROLES: tuple[tuple[str, str, str, str], ...] = (
    ("rsu", "roadside.cli", "roadside", "run and configure a roadside unit"),
    ("cloud", "cloud.cli", "cloud", "the cloud twin, control API and dashboard"),
    ("hil", "hil.cli", "hil", "the hardware-in-the-loop rig on SUMO"),
    (
        "certs",
        "console.certs",
        "roadside",
        "a pilot's CA, server, RSU, twin and vehicle certificates",
    ),
    ("signals", "hil.signals_eval.cli", "hil", "signal coordination judged closed loop on SUMO"),
    ("demo", "console.demo", "all", "the twin, an RSU and the rig on one machine"),
    ("bench", "console.bench", "all", "benchmarks of every hot path (JSON on stdout)"),
)


# A string: argparse._SubParsersAction is generic only to type checkers, not at run time.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _missing_extra(name: str, extra: str, help_text: str, roles: Subparsers) -> None:
    parser = roles.add_parser(name, help=f"{help_text} [needs: pip install 'vicoop[{extra}]']")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        print(
            f"vicoop: error: 'vicoop {name}' needs the {extra} extra: pip install 'vicoop[{extra}]'",
            file=sys.stderr,
        )
        return 2

    parser.set_defaults(run=run)


def _scenario_intersections(scenario: str) -> Sequence[ItsIntersection]:
    """``vicoop rsu export-its --scenario``'s intersections, from ``hil`` (which the roadside
    package may not import)."""
    try:
        from hil.its import scenario_intersections

        return scenario_intersections(scenario)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] in {"vicoop", "console", "hil"}:
            raise
        raise ConfigError(
            f"--scenario needs the hil extra ({exc.name} is missing): pip install 'vicoop[hil]'"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vicoop",
        description="Vehicle-infrastructure cooperative driving stack.",
        epilog="Extras: pip install 'vicoop[roadside]' (rsu), 'vicoop[cloud]' (cloud), "
        "'vicoop[hil]' (hil), 'vicoop[all]' (everything).",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text lines, or one JSON object a line (each with the RSU id or twin worker)",
    )
    roles = parser.add_subparsers(dest="role", required=True, metavar="COMMAND")
    for name, module_name, extra, help_text in ROLES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.split(".")[0] in {"vicoop", "console"}:
                raise  # our own code is broken: not a missing extra
            _missing_extra(name, extra, help_text, roles)
        else:
            if name == "rsu":  # its export-its --scenario reads SUMO nets through hil
                module.add_parser(roles, scenario_intersections=_scenario_intersections)
            else:
                module.add_parser(roles)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.configure(args.log_level, args.log_format, sys.stderr)
    try:
        return int(args.run(args) or 0)
    except VicoopError as exc:
        print(f"vicoop: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
