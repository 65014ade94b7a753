"""``vicoop bench zones``: the RSU's zone check on one publish tick (``ZoneMonitor.check`` of a
frame) with no zones (the baseline), with many large zones sent to a ``ZoneBook`` with its default
caps (what the RSU holds now), and with the same zones uncapped (what it held before the caps)."""

from __future__ import annotations

import argparse
import json
import math
import time

from roadside.cloudlink.monitor import ZoneMonitor
from roadside.cloudlink.zonebook import ZoneBook, ZoneLimits
from vicoop.cloudmodel import AckStatus, Command, UpsertZone
from vicoop.model import (
    DetectedObject,
    GeodeticOrigin,
    ObjectClass,
    PerceptionFrame,
    Size3,
    Vec3,
)
from vicoop.zones import Zone, ZoneRules, ZoneSet

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
NOW_NS = 1_700_000_000 * 10**9


def _frame(objects: int) -> PerceptionFrame:
    objs = tuple(
        DetectedObject(
            k,
            ObjectClass.CAR,
            0.9,
            Vec3(float(k % 20) * 5.0, float(k // 20) * 5.0, 0.0),
            Vec3(5.0, 0.0),
            0.0,
            Size3(4.5, 1.8, 1.5),
            (0.2, 0, 0, 0.2, 0, 0.01),
            0.99,
            NOW_NS,
        )
        for k in range(objects)
    )
    return PerceptionFrame("bench", 1, NOW_NS, NOW_NS, ORIGIN, objects=objs)


def _zones(book: ZoneBook, count: int, vertices: int) -> int:
    refused = 0
    for k in range(count):
        ring = tuple(
            (
                ORIGIN.longitude_deg + 0.003 * math.cos(2 * math.pi * j / vertices) + k * 1e-6,
                ORIGIN.latitude_deg + 0.002 * math.sin(2 * math.pi * j / vertices),
            )
            for j in range(vertices)
        )
        zone = Zone(f"z{k}", 1, f"zone {k}", ring, ZoneRules(speed_limit_mps=30.0))
        ack = book.apply(Command(f"c{k}", 1, NOW_NS, UpsertZone(zone)), NOW_NS)
        refused += ack.status is AckStatus.REJECTED
    return refused


def _tick_us(zones: ZoneSet, frame: PerceptionFrame, ticks: int) -> float:
    monitor = ZoneMonitor()
    monitor.check(frame, zones, NOW_NS)  # prepared geometries are built once, outside the timing
    start = time.perf_counter()
    for _ in range(ticks):
        monitor.check(frame, zones, NOW_NS)
    return (time.perf_counter() - start) / ticks * 1e6


def run_bench(zones: int, vertices: int, objects: int, ticks: int, rate_hz: float) -> dict:  # type: ignore[type-arg]
    frame = _frame(objects)
    capped, uncapped = ZoneBook(), ZoneBook(None, ZoneLimits(10**9, 1000, 10**12))
    refused = _zones(capped, zones, vertices)
    _zones(uncapped, zones, vertices)
    budget_us = 1e6 / rate_hz
    result = {
        "zones_sent": zones,
        "vertices_per_zone": vertices,
        "objects": objects,
        "publish_budget_us": round(budget_us, 1),
        "baseline_no_zones_tick_us": round(_tick_us(ZoneSet(), frame, ticks), 1),
        "capped_zones_held": len(capped.zone_set.zones),
        "capped_zones_refused": refused,
        "capped_tick_us": round(_tick_us(capped.zone_set, frame, ticks), 1),
        "uncapped_zones_held": len(uncapped.zone_set.zones),
        "uncapped_tick_us": round(_tick_us(uncapped.zone_set, frame, max(1, ticks // 10)), 1),
    }
    return result


def _run(args: argparse.Namespace) -> int:
    result = run_bench(args.zones, args.vertices, args.objects, args.ticks, args.rate)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def add_parser(benches: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = benches.add_parser("zones", help="the RSU's zone check per publish tick, 0 vs many zones")
    p.add_argument("--zones", type=int, default=760, help="large zones sent to the RSU")
    p.add_argument("--vertices", type=int, default=900, help="vertices per zone")
    p.add_argument("--objects", type=int, default=60, help="objects per frame")
    p.add_argument("--ticks", type=int, default=50, help="ticks measured per case")
    p.add_argument("--rate", type=float, default=20.0, help="publish rate (Hz): the tick budget")
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(run=_run)
