"""``vicoop certs``: a pilot's certificates (``vicoop.certs`` says which is for what)::

    vicoop certs ca --dir DIR                         ca.pem/.key and vehicle-ca.pem/.key
    vicoop certs server --dir DIR --dns rsu-1.example --ip 10.0.0.5 [--name server]
    vicoop certs rsu --dir DIR RSU_ID...              rsu.RSU_ID.pem/.key (MQTT client)
    vicoop certs twin --dir DIR                       twin.pem/.key (MQTT client)
    vicoop certs vehicle --dir DIR VEHICLE_ID...      vehicle.VEHICLE_ID.pem/.key (gRPC client)

Keys are written with mode 0600. ``ca`` refuses to replace an existing CA (every certificate it
signed would stop working); the others replace what is there (a renewal).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vicoop import certs
from vicoop.errors import ConfigError

if TYPE_CHECKING:
    from console.cli import Subparsers

CA, VEHICLE_CA = "ca", "vehicle-ca"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _load_ca(directory: Path, name: str) -> certs.Issued:
    try:
        return certs.load(directory, name)
    except OSError as exc:
        raise ConfigError(
            f"{directory / name}.pem/.key: cannot read the CA ({exc.strerror}); make it first "
            f"with: vicoop certs ca --dir {directory}"
        ) from None


def _run(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    now = _now()
    written: list[Path] = []
    try:
        if args.what == "ca":
            for name in (CA, VEHICLE_CA):
                ca = certs.make_ca(f"vicoop pilot {name}", now=now, valid_days=args.days)
                try:
                    written.append(certs.write(directory, name, ca, overwrite=False))
                except FileExistsError:
                    raise ConfigError(
                        f"{directory / name}.key exists: a new CA would invalidate every "
                        "certificate it signed (remove it first to start over)"
                    ) from None
        elif args.what == "server":
            ca = _load_ca(directory, CA)
            issued = certs.issue(
                ca,
                certs.Role.SERVER,
                args.name,
                now=now,
                dns_names=tuple(args.dns),
                ip_addresses=tuple(args.ip),
                valid_days=args.days,
            )
            written.append(certs.write(directory, args.name, issued))
        elif args.what == "twin":
            ca = _load_ca(directory, CA)
            issued = certs.issue(ca, certs.Role.TWIN, args.name, now=now, valid_days=args.days)
            written.append(certs.write(directory, "twin", issued))
        else:
            role = certs.Role(args.what)
            ca = _load_ca(directory, VEHICLE_CA if role is certs.Role.VEHICLE else CA)
            for identity in args.ids:
                issued = certs.issue(ca, role, identity, now=now, valid_days=args.days)
                written.append(certs.write(directory, f"{role.value}.{identity}", issued))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for path in written:
        print(f"{path} (key {path.with_suffix('.key')}, mode 0600)", file=sys.stdout)
    return 0


def add_parser(roles: Subparsers) -> None:
    parser = roles.add_parser(
        "certs", help="make a pilot's CA, server, RSU, twin and vehicle certificates"
    )
    kinds = parser.add_subparsers(dest="what", required=True, metavar="KIND")

    def common(p: argparse.ArgumentParser, days: int) -> None:
        p.add_argument("--dir", required=True, help="folder of the pilot's certificates")
        p.add_argument("--days", type=int, default=days, help=f"days valid (default {days})")
        p.set_defaults(run=_run)

    common(kinds.add_parser("ca", help="the infrastructure CA and the vehicles' CA"), 3650)
    server = kinds.add_parser("server", help="an RSU's gRPC server (or the broker's) certificate")
    common(server, 825)
    server.add_argument("--name", default="server", help="file name and CN (default server)")
    server.add_argument("--dns", action="append", default=[], help="a DNS name (repeatable)")
    server.add_argument("--ip", action="append", default=[], help="an IP address (repeatable)")
    twin = kinds.add_parser("twin", help="the twin's MQTT client certificate")
    common(twin, 825)
    twin.add_argument("--name", default=certs.TWIN_IDENTITY, help="its CN (the broker's user)")
    for role, what in (("rsu", "RSU_ID"), ("vehicle", "VEHICLE_ID")):
        p = kinds.add_parser(role, help=f"{role} client certificates (CN = {what})")
        common(p, 825)
        p.add_argument("ids", nargs="+", metavar=what)
