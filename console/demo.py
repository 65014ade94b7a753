"""``vicoop demo``: SUMO traffic, an RSU, two vehicle clients and the cloud twin, run as deployed.

Three processes, as on a real site: the cloud twin (``vicoop cloud run``: embedded MQTT broker,
SQLite in a temporary folder, control API and dashboard), the RSU daemon (``vicoop rsu run``) and
this one, the HIL rig. The demo prints the dashboard's address with a viewer token. The rig runs
the bundled SUMO scenario (one signalised crossing) in real time and feeds its simulated radars and
cameras to the RSU, which fuses them, streams the tracks and publishes to the twin through its
cloud link, with the crossing's signal colours as SUMO switches them (the rig sends SUMO's traffic
light states to the RSU's signal controller input). One vehicle subscribes to everything at 2 Hz,
the other only to cyclists, buses and trucks within 40 m of the junction centre; both print what
they receive. At the end the rig scores the tracks against SUMO's ground truth and the demo says
how many publish ticks the RSU skipped. Stops on Ctrl-C or after ``--duration`` seconds. A
browser on the dashboard loads the twin's process only, never the RSU's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml

from cloud.auth import token_digest
from hil.cli import BUNDLED, resolve_scenario
from hil.rig import Rig, RigOptions
from hil.site import with_cloud_link
from vehicle import Circle, ObjectClass, PerceptionFrame, RoadsideClient, objects_to_wgs84
from vicoop.errors import VicoopError
from vicoop.signing import write_key_pair

DASHBOARD_PORT = 8080
# What ``vicoop cloud run`` prints once it serves (cloud/cli.py).
_CLOUD_READY = re.compile(r"^cloud twin: dashboard and API on (http://\S+) \(MQTT (mqtt://\S+)\)")
_SKIPPED = re.compile(r"publish loop fell (\d+) ticks behind")


def _describe(name: str, frame: PerceptionFrame) -> str:
    latency_ms = (frame.latency_s or 0.0) * 1000
    counts: dict[str, int] = {}
    for obj in frame.objects:
        counts[obj.object_class.name.lower()] = counts.get(obj.object_class.name.lower(), 0) + 1
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing"
    line = (
        f"[{name}] frame {frame.sequence}: {len(frame.objects)}/{frame.objects_before_filter} "
        f"objects ({kinds}), latency {latency_ms:.1f} ms"
    )
    if frame.objects:
        lat, lon, _ = objects_to_wgs84(frame)[0]
        first = frame.objects[0]
        line += f"; track {first.track_id} {first.object_class.name.lower()} at {lat:.6f},{lon:.6f} {first.speed_mps:.1f} m/s"
    return line


async def _vehicle(target: str, name: str, out: TextIO, **subscription: object) -> None:
    async with RoadsideClient(target) as rsu:
        site = await rsu.site()
        print(
            f"[{name}] connected to RSU {site.rsu_id} at {site.origin.latitude_deg:.5f},{site.origin.longitude_deg:.5f}",
            file=out,
        )
        async for frame in rsu.perception(client_id=name, **subscription):  # type: ignore[arg-type]
            print(_describe(name, frame), file=out, flush=True)


def _port_or_free(port: int) -> int:
    """``port`` when it can be bound on loopback, else 0 (the service then picks a free one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


@dataclass
class CloudProcess:
    """The cloud twin as its own process (``vicoop cloud run``), with tokens the demo chose."""

    proc: subprocess.Popen[str]
    url: str
    mqtt_url: str
    tokens: dict[str, str]
    drain: asyncio.Future[str] | None = None

    @classmethod
    async def start(cls, workdir: Path, port: int, timeout_s: float = 60.0) -> CloudProcess:
        tokens = {role: secrets.token_urlsafe(24) for role in ("viewer", "operator", "admin")}
        write_key_pair(workdir / "command-key.pem", workdir / "command-key.pub.pem")
        config = workdir / "cloud.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "db_url": f"sqlite:///{workdir / 'cloud.sqlite3'}",
                    "http_port": port,
                    "command_signing_key_file": str(workdir / "command-key.pem"),
                    "tokens": [
                        {"token_sha256": token_digest(t), "name": f"demo-{role}", "role": role}
                        for role, t in tokens.items()
                    ],
                }
            ),
            encoding="utf-8",
        )
        proc = subprocess.Popen(  # noqa: ASYNC220 (starting it does not block; reading is in a thread)
            [sys.executable, "-m", "console.cli", "cloud", "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        seen: list[str] = []
        try:
            async with asyncio.timeout(timeout_s):
                while line := await asyncio.to_thread(proc.stdout.readline):
                    seen.append(line.rstrip())
                    if found := _CLOUD_READY.match(line):
                        break
                else:
                    raise VicoopError(
                        "the cloud twin exited at start: " + " | ".join(seen[-5:] or ["no output"])
                    )
        except BaseException:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            raise
        # Keep draining its output so a full pipe never blocks the twin.
        drain = asyncio.ensure_future(asyncio.to_thread(proc.stdout.read))
        return cls(proc, found.group(1), found.group(2), tokens, drain)

    async def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)
        if self.drain is not None:
            await self.drain
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _ticks_skipped(rsu_log: Path) -> int:
    """Publish ticks the RSU process logged as skipped (it fell behind its publish rate)."""
    if not rsu_log.exists():
        return 0
    text = rsu_log.read_text(encoding="utf-8", errors="replace")
    return sum(int(n) for n in _SKIPPED.findall(text))


async def run_demo(
    duration_s: float | None, out: TextIO = sys.stdout, port: int = DASHBOARD_PORT
) -> None:
    """Run the demo until ``duration_s`` passes (None: until SIGINT/SIGTERM); the dashboard on
    ``port`` when it is free (0, or busy: any free port)."""
    async with contextlib.AsyncExitStack() as stack:
        workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="vicoop-demo-"))
        wanted = _port_or_free(port) if port else 0
        cloud = await CloudProcess.start(Path(workdir), wanted)
        stack.push_async_callback(cloud.stop)
        note = f" (port {port} was busy)" if port and wanted != port else ""
        print(
            f"dashboard: {cloud.url}/#token={cloud.tokens['viewer']}{note}\n"
            f"  control API {cloud.url}/docs, operator token {cloud.tokens['operator']}"
            f"; RSUs publish to the twin on {cloud.mqtt_url}",
            file=out,
            flush=True,
        )
        sumocfg, site, _ = resolve_scenario(BUNDLED, Path(workdir))
        # Each RSU publishes to the twin; the rig sends it SUMO's traffic lights as its signal
        # controller would, so the dashboard shows SUMO's colours.
        site = with_cloud_link(
            site, cloud.mqtt_url, Path(workdir), command_key=Path(workdir) / "command-key.pub.pem"
        )
        rig = Rig(
            RigOptions(
                sumocfg=sumocfg,
                site=site,
                duration_s=duration_s or 1e9,
                realtime=True,
                clients=1,
                rsu_mode="process",  # the RSU as its own process, as deployed
                warmup_s=60.0,
                workdir=Path(workdir),
            )
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, rig.stop_event.set)
        vehicles: list[asyncio.Task[None]] = []

        async def ready(targets: list[str]) -> None:
            rsu = site.rsus[0].rsu
            print(
                f"SUMO scenario {sumocfg.parent.name}: RSU {rsu.rsu_id} fusing {len(site.rsus[0].sensors.radars)} radars "
                f"and {len(site.rsus[0].sensors.cameras)} cameras, streaming perception on {targets[0]} "
                f"at {rsu.publish.rate_hz:g} Hz",
                file=out,
                flush=True,
            )
            vehicles.append(
                asyncio.create_task(_vehicle(targets[0], "vehicle-1", out, max_rate_hz=2.0))
            )
            vehicles.append(
                asyncio.create_task(
                    _vehicle(
                        targets[0],
                        "vehicle-2",
                        out,
                        roi=Circle(0.0, 0.0, 40.0),
                        classes={ObjectClass.BICYCLE, ObjectClass.BUS, ObjectClass.TRUCK},
                        max_rate_hz=1.0,
                    )
                )
            )

        rig.on_ready = ready
        run = asyncio.create_task(rig.run())
        try:
            result = await run
        finally:
            for task in vehicles:
                task.cancel()
            results = await asyncio.gather(*vehicles, return_exceptions=True)
        for res in results:
            if isinstance(res, Exception):
                raise res
        skipped = sum(_ticks_skipped(Path(workdir) / f"{r.rsu.rsu_id}.rsu.log") for r in site.rsus)
        print(
            f"demo stopped: {result.frames_received} frames scored against SUMO: MOTA {result.mota}, "
            f"position RMSE {result.position_rmse_m} m, latency p99 {result.latency_ms.p99} ms, "
            f"frames lost {result.frames_lost}, RSU publish ticks skipped {skipped}",
            file=out,
        )


def _run(args: argparse.Namespace) -> int:
    asyncio.run(run_demo(args.duration, port=args.port))
    return 0


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = roles.add_parser(
        "demo",
        help="SUMO traffic through an RSU to two vehicle clients and the cloud twin's dashboard "
        "(the bundled HIL scenario)",
    )
    demo.add_argument(
        "--duration", type=float, default=None, help="stop after S seconds (default: until Ctrl-C)"
    )
    demo.add_argument(
        "--port",
        type=int,
        default=DASHBOARD_PORT,
        help=f"the dashboard's port (default {DASHBOARD_PORT}; a free one when busy or 0)",
    )
    demo.set_defaults(run=_run)
