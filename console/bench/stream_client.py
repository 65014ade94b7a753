"""The subscriber side of ``vicoop bench stream``, run in its own process.

Opens ``--subscribers`` connections (one channel each, as separate vehicles would), streams until
the server ends the streams, and prints one JSON object: frames received per subscriber and the
publish -> receive latency percentiles over every frame after the warm-up. The same client
measures our RSU and the bare-gRPC baseline, so their figures compare the servers alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path

import grpc
import numpy as np

from protos.vicoop.v1 import roadside_pb2

METHOD = "/vicoop.v1.Roadside/StreamPerception"


def _channel(target: str, ca: bytes | None) -> grpc.aio.Channel:
    if ca is None:
        return grpc.aio.insecure_channel(target)
    return grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=ca))


async def _subscriber(
    target: str, warmup_frames: int, latencies: list[int], ca: bytes | None
) -> int:
    async with _channel(target, ca) as channel:
        call = channel.unary_stream(METHOD, request_serializer=None, response_deserializer=None)(
            roadside_pb2.StreamPerceptionRequest().SerializeToString()
        )
        received = 0
        async for data in call:
            now = time.time_ns()
            frame = roadside_pb2.StreamPerceptionResponse.FromString(data).frame
            if frame.sequence > warmup_frames:
                received += 1
                latencies.append(now - frame.published_at_ns)
        return received


async def _main(args: argparse.Namespace, ca: bytes | None) -> dict[str, object]:
    latencies: list[int] = []
    counts = await asyncio.gather(
        *(
            _subscriber(args.target, args.warmup_frames, latencies, ca)
            for _ in range(args.subscribers)
        )
    )
    lat_ms = np.array(latencies, dtype=np.float64) / 1e6
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "frames_received": counts,
        "latency_ms": {
            "p50": float(np.percentile(lat_ms, 50)) if lat_ms.size else None,
            "p99": float(np.percentile(lat_ms, 99)) if lat_ms.size else None,
            "max": float(lat_ms.max()) if lat_ms.size else None,
        },
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--subscribers", type=int, required=True)
    parser.add_argument("--warmup-frames", type=int, default=0)
    parser.add_argument("--ca", help="PEM CA of the server's certificate: connect over TLS")
    args = parser.parse_args()
    ca = None if args.ca is None else Path(args.ca).read_bytes()
    result = asyncio.run(_main(args, ca))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
