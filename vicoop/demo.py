"""``vicoop demo``: an RSU and two vehicle clients on one machine, on embedded defaults.

The RSU publishes built-in synthetic intersection traffic; one vehicle subscribes to everything
at 2 Hz, the other only to pedestrians and cyclists within 40 m of the junction centre. Both
print what they receive. Stops on Ctrl-C or after ``--duration`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TextIO

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from vehicle import Circle, ObjectClass, PerceptionFrame, RoadsideClient, objects_to_wgs84


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


async def run_demo(duration_s: float | None, out: TextIO = sys.stdout) -> None:
    """Run the demo until ``duration_s`` passes (None: until SIGINT/SIGTERM)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    config = RsuConfig.model_validate({"server": {"port": 0}})
    async with RoadsideDaemon(config) as rsu:
        print(
            f"RSU {config.rsu_id} streaming perception on {rsu.target} at {config.publish.rate_hz:g} Hz",
            file=out,
        )
        vehicles = [
            asyncio.create_task(_vehicle(rsu.target, "vehicle-1", out, max_rate_hz=2.0)),
            asyncio.create_task(
                _vehicle(
                    rsu.target,
                    "vehicle-2",
                    out,
                    roi=Circle(0.0, 0.0, 40.0),
                    classes={ObjectClass.PEDESTRIAN, ObjectClass.BICYCLE},
                    max_rate_hz=1.0,
                )
            ),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration_s)
        for task in vehicles:
            task.cancel()
        results = await asyncio.gather(*vehicles, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                raise result
        stats = rsu.hub.stats()
        print(
            f"demo stopped: {stats.frames_published} frames published, {stats.frames_delivered} delivered, "
            f"{stats.frames_dropped} dropped",
            file=out,
        )


def _run(args: argparse.Namespace) -> int:
    asyncio.run(run_demo(args.duration))
    return 0


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = roles.add_parser("demo", help="an RSU and two vehicle clients on embedded defaults")
    demo.add_argument(
        "--duration", type=float, default=None, help="stop after S seconds (default: until Ctrl-C)"
    )
    demo.set_defaults(run=_run)
