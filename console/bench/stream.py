"""``vicoop bench stream``: RSU -> vehicle streaming, against a bare gRPC server in the same run.

Both servers run in this process and publish the same frames (M synthetic objects) at the same
rate on the same tick grid; N subscribers run in a second process (``bench_client``) and measure
publish -> receive latency. Ours is the real RSU path (source snapshot, encoding, per-subscriber
latest-wins queues, the Roadside servicer); the baseline is a minimal grpc.aio server that streams
one pre-serialized frame (re-stamped with its sequence and publish time each tick) to every
stream: the transport's own limit.

With ``--tls`` both servers serve TLS with the same certificate (a throwaway pilot CA and server
certificate made by ``vicoop.certs`` in a temporary folder): ours as the RSU does it
(``server.tls``, grpc's reloadable credentials), the baseline with ``ssl_server_credentials``;
the subscribers check the certificate against that CA.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc

from protos.vicoop.v1 import perception_pb2
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.sources import SyntheticTraffic
from vicoop import certs, codec
from vicoop.model import NS_PER_S, PerceptionFrame
from vicoop.serving.encoding import EncodedFrame, perception_response

WARMUP_S = 1.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _BareServer:
    """The baseline: a grpc.aio server sending the latest pre-serialized bytes to every stream."""

    def __init__(self, tls: Path | None = None) -> None:
        self.streams = 0
        self._data = b""
        self._event = asyncio.Event()
        self._done = False
        self._server = grpc.aio.server()
        self._server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    "vicoop.v1.Roadside",
                    {
                        "StreamPerception": grpc.unary_stream_rpc_method_handler(
                            self._stream, request_deserializer=None, response_serializer=None
                        )
                    },
                ),
            )
        )
        if tls is None:
            self.port = self._server.add_insecure_port("127.0.0.1:0")
        else:
            key_pair = ((tls / "server.key").read_bytes(), (tls / "server.pem").read_bytes())
            self.port = self._server.add_secure_port(
                "127.0.0.1:0", grpc.ssl_server_credentials([key_pair])
            )

    async def _stream(self, request: bytes, context: object) -> AsyncIterator[bytes]:
        self.streams += 1
        try:
            while True:
                event = self._event
                await event.wait()
                if self._done:
                    return
                yield self._data
        finally:
            self.streams -= 1

    def publish(self, data: bytes) -> None:
        self._data = data
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        self._done = True
        self.publish(b"")
        await self._server.stop(1.0)


async def _drive(publish: Callable[[int], object], rate_hz: float, ticks: int) -> None:
    """Call ``publish(tick_ns)`` on a fixed grid of ``rate_hz`` ticks, ``ticks`` times."""
    period = round(NS_PER_S / rate_hz)
    tick = -(-time.time_ns() // period) * period
    for _ in range(ticks):
        delay = tick - time.time_ns()
        if delay > 0:
            await asyncio.sleep(delay / NS_PER_S)
        publish(tick)
        tick += period


async def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _make_tls(folder: Path) -> Path:
    """A throwaway CA and a server certificate for 127.0.0.1 in ``folder``."""
    now = dt.datetime.now(dt.UTC)
    ca = certs.make_ca("vicoop bench ca", now=now, valid_days=1)
    certs.write(folder, "ca", ca)
    server = certs.issue(
        ca, certs.Role.SERVER, "bench", now=now, ip_addresses=("127.0.0.1",), valid_days=1
    )
    certs.write(folder, "server", server)
    return folder


def _start_clients(
    port: int, subscribers: int, warmup_frames: int, tls: Path | None
) -> subprocess.Popen[bytes]:
    ca = ["--ca", str(tls / "ca.pem")] if tls is not None else []
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.bench.stream_client",
            "--target",
            f"127.0.0.1:{port}",
            "--subscribers",
            str(subscribers),
            "--warmup-frames",
            str(warmup_frames),
            *ca,
        ],
        stdout=subprocess.PIPE,
    )


async def _collect(clients: subprocess.Popen[bytes]) -> dict[str, Any]:
    out, _ = await asyncio.to_thread(clients.communicate)
    if clients.returncode != 0:
        raise RuntimeError(f"the benchmark client failed with exit code {clients.returncode}")
    result: dict[str, Any] = json.loads(out)
    return result


def _summary(client: dict[str, Any], published: int, server_cpu_s: float) -> dict[str, Any]:
    counts = client["frames_received"]
    return {
        "frames_published": published,
        "frames_delivered": sum(counts),
        "frames_lost": published * len(counts) - sum(counts),
        "min_fraction_received": (min(counts) / published) if counts and published else 0.0,
        "latency_ms": client["latency_ms"],
        "cpu_s": server_cpu_s,
        "client_cpu_s": client["cpu_s"],
    }


async def _run_baseline(
    args: argparse.Namespace, frame: PerceptionFrame, warmup: int, ticks: int, tls: Path | None
) -> dict[str, Any]:
    server = _BareServer(tls)
    await server.start()
    clients = _start_clients(server.port, args.subscribers, warmup, tls)
    try:
        await _wait_for(lambda: server.streams == args.subscribers, "baseline subscribers")
        # The frame's fields before the stamp (1) and after it (5-8): joined in field order, the
        # parts are one canonical PerceptionFrame, as the RSU sends.
        rsu_id = perception_pb2.PerceptionFrame(rsu_id=frame.rsu_id).SerializeToString()
        rest = codec.frame_to_proto(frame)
        for name in ("rsu_id", "sequence", "valid_at_ns", "published_at_ns"):
            rest.ClearField(name)
        rest_bytes = rest.SerializeToString()
        sequence = 0

        def publish(tick_ns: int) -> None:
            nonlocal sequence
            sequence += 1
            stamp = perception_pb2.PerceptionFrame(
                sequence=sequence, valid_at_ns=tick_ns, published_at_ns=time.time_ns()
            ).SerializeToString()
            server.publish(perception_response(rsu_id + stamp + rest_bytes))

        await _drive(publish, args.rate, warmup)
        cpu0 = _cpu_s()
        await _drive(publish, args.rate, ticks)
        cpu = _cpu_s() - cpu0
        await asyncio.sleep(2.0 / args.rate)  # let the last frame reach every stream
    finally:
        await server.stop()
    return _summary(await _collect(clients), ticks, cpu)


async def _run_ours(
    args: argparse.Namespace, warmup: int, ticks: int, tls: Path | None
) -> dict[str, Any]:
    server_tls = None
    if tls is not None:
        server_tls = {"cert_file": str(tls / "server.pem"), "key_file": str(tls / "server.key")}
    config = RsuConfig.model_validate(
        {
            "server": {
                "port": 0,
                "max_subscribers": max(args.subscribers, 1),
                # The subscribers all come from this machine: one client to the limit.
                "max_streams_per_peer": max(args.subscribers, 1),
                "grace_period_s": 1.0,
                "tls": server_tls,
            },
            "publish": {"rate_hz": args.rate},
            "source": {"objects": args.objects},
        }
    )
    daemon = RoadsideDaemon(config)
    port = await daemon.server.start()
    clients = _start_clients(port, args.subscribers, warmup, tls)
    try:
        await _wait_for(lambda: daemon.hub.subscriber_count == args.subscribers, "RSU subscribers")
        await _drive(daemon.publish_at, args.rate, warmup)
        dropped0, cpu0 = daemon.hub.stats().frames_dropped, _cpu_s()
        await _drive(daemon.publish_at, args.rate, ticks)
        cpu = _cpu_s() - cpu0
        dropped = daemon.hub.stats().frames_dropped - dropped0
    finally:
        await daemon.stop()
    result = _summary(await _collect(clients), ticks, cpu)
    result["frames_dropped"] = dropped
    return result


async def run_stream_bench(args: argparse.Namespace) -> dict[str, Any]:
    warmup = max(1, math.ceil(WARMUP_S * args.rate))
    ticks = max(1, round(args.duration * args.rate))
    frame = PerceptionFrame(
        rsu_id="bench",
        sequence=0,
        valid_at_ns=0,
        published_at_ns=0,
        origin=RsuConfig().origin.to_model(),
        objects=SyntheticTraffic(args.objects).snapshot(time.time_ns()).objects,
    )
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vicoop-bench-tls-") as folder:
        tls = _make_tls(Path(folder)) if args.tls else None
        for i in range(args.rounds):
            # Alternate which server goes first, so that a load that drifts over the run (a
            # shared machine) weighs on both alike.
            if i % 2 == 0:
                baseline = await _run_baseline(args, frame, warmup, ticks, tls)
                ours = await _run_ours(args, warmup, ticks, tls)
            else:
                ours = await _run_ours(args, warmup, ticks, tls)
                baseline = await _run_baseline(args, frame, warmup, ticks, tls)
            ratio = None
            if ours["latency_ms"]["p99"] and baseline["latency_ms"]["p99"]:
                ratio = ours["latency_ms"]["p99"] / baseline["latency_ms"]["p99"]
            rounds.append({"ours": ours, "baseline": baseline, "latency_p99_ratio": ratio})
    ours, baseline, ratio = rounds[0]["ours"], rounds[0]["baseline"], rounds[0]["latency_p99_ratio"]
    ratios = [r["latency_p99_ratio"] for r in rounds if r["latency_p99_ratio"] is not None]
    return {
        "subscribers": args.subscribers,
        "rate_hz": args.rate,
        "objects": args.objects,
        "duration_s": args.duration,
        "tls": bool(args.tls),
        "frame_bytes": len(EncodedFrame(frame).all_objects),
        "frames_published": ours["frames_published"],
        "frames_delivered": ours["frames_delivered"],
        "frames_dropped": ours["frames_dropped"],
        "frames_lost": ours["frames_lost"],
        "min_fraction_received": ours["min_fraction_received"],
        "latency_ms": ours["latency_ms"],
        "cpu_s": ours["cpu_s"],
        "client_cpu_s": ours["client_cpu_s"],
        "baseline": baseline,
        "latency_p99_ratio": ratio,
        # Every round's p99 (ms) of both servers, and the median ratio over the rounds.
        "rounds": [
            {
                "p99_ms": r["ours"]["latency_ms"]["p99"],
                "baseline_p99_ms": r["baseline"]["latency_ms"]["p99"],
                "latency_p99_ratio": r["latency_p99_ratio"],
            }
            for r in rounds
        ],
        "latency_p99_ratio_median": statistics.median(ratios) if ratios else None,
    }


def _run(args: argparse.Namespace) -> int:
    result = asyncio.run(run_stream_bench(args))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def add_parser(benches: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stream = benches.add_parser("stream", help="RSU -> vehicle streaming vs a bare grpc.aio server")
    stream.add_argument("--subscribers", type=int, default=100, help="vehicle streams (N)")
    stream.add_argument("--rate", type=float, default=20.0, help="publish rate in Hz")
    stream.add_argument("--objects", type=int, default=100, help="objects per frame (M)")
    stream.add_argument("--duration", type=float, default=10.0, help="measured seconds per server")
    stream.add_argument(
        "--tls", action="store_true", help="both servers over TLS (a throwaway certificate)"
    )
    stream.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure both servers this many times, alternating which goes first (default 1)",
    )
    stream.add_argument("--json", action="store_true", help="print the result on one line")
    stream.set_defaults(run=_run)
