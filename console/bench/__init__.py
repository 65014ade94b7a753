"""``vicoop bench …``: every hot path's benchmark, each printing one JSON object with a baseline
measured side by side in the same run.

::

    vicoop bench stream     RSU -> vehicle streaming against a bare grpc.aio server   (stream.py)
    vicoop bench tracking   the tracker on simulated sensors against Stone Soup        (tracking.py)
    vicoop bench fusion     radar + camera fusion against each sensor alone            (tracking.py)
    vicoop bench cloud      RSU -> twin ingest through MQTT against a bare subscriber  (cloud.py)
    vicoop bench outbox     RSU outbox -> twin store + receipts against a bare client  (outbox.py)
    vicoop bench zones      the RSU's zone check per tick, many zones against none     (zones.py)
    vicoop bench soak       faults and load on real processes: what is lost, deaths, memory (soak.py)
"""

from __future__ import annotations

import argparse

# At import, so that without its extras this module fails to import and ``vicoop --help`` says
# which extra the benchmarks need.
from console.bench import cloud, outbox, soak, stream, tracking, zones


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = roles.add_parser("bench", help="benchmarks (JSON on stdout)")
    benches = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    stream.add_parser(benches)
    cloud.add_parser(benches)
    outbox.add_parser(benches)
    tracking.add_parser(benches)  # tracking, fusion
    zones.add_parser(benches)
    soak.add_parser(benches)
