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

import grpc
import numpy as np

from protos.vicoop.v1 import roadside_pb2

METHOD = "/vicoop.v1.Roadside/StreamPerception"


async def _subscriber(target: str, warmup_frames: int, latencies: list[int]) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
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


async def _main(args: argparse.Namespace) -> dict[str, object]:
    latencies: list[int] = []
    counts = await asyncio.gather(
        *(_subscriber(args.target, args.warmup_frames, latencies) for _ in range(args.subscribers))
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
    result = asyncio.run(_main(parser.parse_args()))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
