"""``vicoop rsu …``: run and configure a roadside unit."""

from __future__ import annotations

import argparse
import asyncio
import json

from roadside.config import RsuConfig
from vicoop import config as config_io


def load_config(path: str | None) -> RsuConfig:
    """The configuration in ``path``, or the embedded defaults when None."""
    return RsuConfig() if path is None else config_io.load(RsuConfig, path)


def _run(args: argparse.Namespace) -> int:
    from roadside.daemon import serve

    config = load_config(args.config)
    if args.port is not None:
        config = config.model_copy(
            update={"server": config.server.model_copy(update={"port": args.port})}
        )
    asyncio.run(serve(config))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(json.dumps(config.model_dump(), indent=2))
    return 0


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rsu = roles.add_parser("rsu", help="run and configure a roadside unit")
    commands = rsu.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the RSU daemon until SIGTERM/SIGINT")
    run.add_argument("--config", help="YAML configuration (embedded defaults when omitted)")
    run.add_argument("--port", type=int, help="override server.port (0 picks a free port)")
    run.set_defaults(run=_run)

    check = commands.add_parser("check-config", help="validate a configuration file and print it")
    check.add_argument("file")
    check.set_defaults(run=_check_config)
