"""``vicoop bench …``: every hot path's benchmark, each printing one JSON object.

Each benchmark module provides ``add_parser(subparsers)``; they are listed here.
"""

from __future__ import annotations

import argparse


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from roadside.fusion import bench as fusion_bench
    from roadside.server import bench as stream_bench

    bench = roles.add_parser("bench", help="benchmarks (JSON on stdout)")
    benches = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    stream_bench.add_parser(benches)
    from cloud import bench as cloud_bench

    cloud_bench.add_parser(benches)
    fusion_bench.add_parser(benches)  # tracking, fusion
