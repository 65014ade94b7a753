"""``vicoop cloud run``: the cloud twin, control API and dashboard until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from cloud.auth import token_digest
from cloud.config import CloudConfig
from cloud.service import CloudService  # at import: without the cloud extra, --help says so
from vicoop import config as config_io
from vicoop.heap import freeze_startup_heap
from vicoop.signing import write_key_pair


async def serve(config: CloudConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with CloudService(config) as service:
        freeze_startup_heap()  # a full collection of the start-up heap would stall ingest
        print(
            f"cloud twin: dashboard and API on {service.url} (MQTT {service.mqtt_url})", flush=True
        )
        if service.generated_tokens:  # --dev only: a configured twin prints no secret
            for role, token in service.generated_tokens.items():
                print(f"  {role} token (development): {token}", flush=True)
            print(
                f"dashboard: {service.url}/#token={service.generated_tokens['viewer']}", flush=True
            )
        await stop.wait()


def _run(args: argparse.Namespace) -> int:
    config = CloudConfig() if args.config is None else config_io.load(CloudConfig, args.config)
    updates = {
        k: v
        for k, v in (("mqtt_url", args.mqtt_url), ("db_url", args.db_url), ("http_port", args.port))
        if v is not None
    }
    if args.dev:
        updates["dev"] = True
    config = config_io.validate(CloudConfig, {**config.model_dump(), **updates}, "command line")
    asyncio.run(serve(config))
    return 0


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cloud = roles.add_parser("cloud", help="the cloud digital twin")
    commands = cloud.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the twin, control API and dashboard")
    run.add_argument("--config", default=None, help="YAML file (cloud.config.CloudConfig)")
    run.add_argument("--mqtt-url", default=None, help="mqtt://host:port (default: embedded broker)")
    run.add_argument("--db-url", default=None, help="SQLAlchemy URL (default: SQLite file)")
    run.add_argument("--port", type=int, default=None, help="HTTP port")
    run.add_argument(
        "--dev",
        action="store_true",
        help="development twin: without configured tokens, generate one per role and print them",
    )
    run.set_defaults(run=_run)
    digest = commands.add_parser(
        "token-digest", help="print the SHA-256 digest of a token read from stdin (token_sha256)"
    )
    digest.set_defaults(run=_digest)
    key = commands.add_parser(
        "command-key",
        help="make the Ed25519 key pair the twin signs commands with (PEM; the public one for "
        "the RSUs' cloud.command_keys)",
    )
    key.add_argument("private", help="the private key file to write (command_signing_key_file)")
    key.add_argument("public", help="the public key file to write (give it to every RSU)")
    key.set_defaults(run=_command_key)


def _command_key(args: argparse.Namespace) -> int:
    private, public = Path(args.private), Path(args.public)
    for path in (private, public):
        if path.exists():
            print(f"{path} exists; not overwriting a key", file=sys.stderr)
            return 2
    write_key_pair(private, public)
    print(f"private key: {private} (0600; the twin's command_signing_key_file)")
    print(f"public key: {public} (every RSU's cloud.command_keys)")
    return 0


def _digest(args: argparse.Namespace) -> int:
    token = sys.stdin.readline().strip()
    if len(token) < 16:
        print("a token is at least 16 characters (give it on stdin)", file=sys.stderr)
        return 2
    print(token_digest(token))
    return 0
