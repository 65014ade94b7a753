"""The ``vicoop`` command line: one subcommand per role.

::

    vicoop rsu run --config rsu.yaml       run a roadside unit
    vicoop rsu check-config rsu.yaml       validate a configuration file and print it
    vicoop demo [--duration S]             an RSU and two vehicle clients, on embedded defaults
    vicoop bench stream ... --json         RSU -> vehicle streaming against a bare gRPC baseline
    vicoop cloud run [--mqtt-url URL] [--db-url URL]   the cloud twin, API and dashboard
    vicoop bench cloud --rsus N --rate HZ --json        RSU -> twin ingest through MQTT
    vicoop hil run --scenario PATH ...     drive the stack from SUMO, inject faults, score it

Each role's package adds its own subcommands (``roadside.cli``, ``vicoop.bench``); this module
only wires them together.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from vicoop.errors import VicoopError


def build_parser() -> argparse.ArgumentParser:
    from cloud import cli as cloud_cli
    from roadside import cli as roadside_cli
    from vicoop import bench, demo

    parser = argparse.ArgumentParser(
        prog="vicoop", description="Vehicle-infrastructure cooperative driving stack."
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    roles = parser.add_subparsers(dest="role", required=True, metavar="COMMAND")
    roadside_cli.add_parser(roles)
    cloud_cli.add_parser(roles)
    demo.add_parser(roles)
    bench.add_parser(roles)
    try:
        from hil import cli as hil_cli
    except ImportError:  # the hil extra is not installed
        pass
    else:
        hil_cli.add_parser(roles)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.run(args) or 0)
    except VicoopError as exc:
        print(f"vicoop: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
