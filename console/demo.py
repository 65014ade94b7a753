"""``vicoop demo``: SUMO traffic, an RSU, two vehicle clients and the cloud twin on one machine.

The cloud twin starts first (embedded MQTT broker, SQLite in a temporary folder, control API and
dashboard); it prints the dashboard's address with a viewer token. The HIL rig runs the bundled
SUMO scenario (one signalised crossing) in real time and feeds its simulated radars and cameras to
a real RSU daemon, which fuses them, streams the tracks and publishes to the twin through its
cloud link, with the crossing's signal colours as SUMO switches them (the rig sends SUMO's
traffic light states to the RSU's signal controller input); one vehicle subscribes to everything at 2 Hz, the other only to cyclists, buses and
trucks within 40 m of the junction centre. Both print what they receive; at the end the rig
scores the tracks against SUMO's ground truth. Stops on Ctrl-C or after ``--duration`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from vehicle import Circle, ObjectClass, PerceptionFrame, RoadsideClient, objects_to_wgs84

if TYPE_CHECKING:
    from cloud.service import CloudService

DASHBOARD_PORT = 8080


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


async def _start_cloud(workdir: Path, port: int, out: TextIO) -> CloudService:
    """The cloud twin with an embedded broker and SQLite in ``workdir``; prints where it is."""
    from cloud.config import CloudConfig
    from cloud.service import CloudService

    wanted = _port_or_free(port) if port else 0
    service = CloudService(
        CloudConfig(db_url=f"sqlite:///{workdir / 'cloud.sqlite3'}", http_port=wanted)
    )
    await service.start()
    note = f" (port {port} was busy)" if port and wanted != port else ""
    print(
        f"dashboard: {service.url}/?token={service.generated_tokens['viewer']}{note}\n"
        f"  control API {service.url}/docs, operator token {service.generated_tokens['operator']}"
        f"; RSUs publish to the twin on {service.mqtt_url}",
        file=out,
        flush=True,
    )
    return service


async def run_demo(
    duration_s: float | None, out: TextIO = sys.stdout, port: int = DASHBOARD_PORT
) -> None:
    """Run the demo until ``duration_s`` passes (None: until SIGINT/SIGTERM); the dashboard on
    ``port`` when it is free (0, or busy: any free port)."""
    from hil.cli import BUNDLED, resolve_scenario
    from hil.rig import Rig, RigOptions
    from hil.site import with_cloud_link

    async with contextlib.AsyncExitStack() as stack:
        workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="vicoop-demo-"))
        cloud = await _start_cloud(Path(workdir), port, out)
        stack.push_async_callback(cloud.stop)
        sumocfg, site, _ = resolve_scenario(BUNDLED, Path(workdir))
        # Each RSU publishes to the twin; the rig sends it SUMO's traffic lights as its signal
        # controller would, so the dashboard shows SUMO's colours.
        site = with_cloud_link(site, cloud.mqtt_url, Path(workdir))
        rig = Rig(
            RigOptions(
                sumocfg=sumocfg,
                site=site,
                duration_s=duration_s or 1e9,
                realtime=True,
                clients=1,
                rsu_mode="inprocess",
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
        print(
            f"demo stopped: {result.frames_received} frames scored against SUMO: MOTA {result.mota}, "
            f"position RMSE {result.position_rmse_m} m, latency p99 {result.latency_ms.p99} ms",
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
