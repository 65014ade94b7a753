"""Defect 6 at the RSU: zone commands beyond the zone count, a zone's vertices or the total
vertices are refused with an acknowledgement naming the cap (the twin shows its detail) and counted;
zones already held and later versions of them keep working."""

from __future__ import annotations

import math
from pathlib import Path

from roadside.cloudlink.outbox import Outbox
from roadside.cloudlink.zonebook import ZoneBook, ZoneLimits
from vicoop.cloudmodel import AckStatus, Command, DeleteZone, UpsertZone
from vicoop.zones import Zone, ZoneRules

NOW = 1_700_000_000 * 10**9


def ring(n: int, lat: float = 50.9375, lon: float = 6.9603, r: float = 0.01) -> tuple:
    return tuple(
        (lon + r * math.cos(2 * math.pi * k / n), lat + r * math.sin(2 * math.pi * k / n))
        for k in range(n)
    )


def upsert(zone_id: str, version: int, vertices: int) -> Command:
    zone = Zone(zone_id, version, zone_id, ring(vertices), ZoneRules(speed_limit_mps=8.0))
    return Command(f"{zone_id}-{version}", version, NOW, UpsertZone(zone))


def test_760_large_zones_are_refused_beyond_the_caps_with_a_reason(tmp_path: Path) -> None:
    outbox = Outbox(str(tmp_path / "outbox.sqlite3"), "rsu-caps")
    book = ZoneBook(outbox, ZoneLimits(max_zones=50, max_total_vertices=20_000))
    acks = [book.apply(upsert(f"z{k}", 1, 900), NOW) for k in range(760)]
    applied = [a for a in acks if a.status is AckStatus.APPLIED]
    refused = [a for a in acks if a.status is AckStatus.REJECTED]
    assert len(applied) == 22  # 22 x 900 vertices under 20 000
    assert len(refused) == 760 - 22
    assert "max_total_vertices" in refused[0].detail
    assert book.refused["max_total_vertices"] == 738
    assert sum(len(z.polygon) for z in book.zone_set.zones.values()) <= 20_000

    small = ZoneBook(None, ZoneLimits(max_zones=50))
    acks = [small.apply(upsert(f"s{k}", 1, 4), NOW) for k in range(760)]
    assert sum(a.status is AckStatus.APPLIED for a in acks) == 50
    assert "max_zones 50" in acks[-1].detail
    # A held zone can still change and be deleted, and its room is then free again.
    assert small.apply(upsert("s0", 2, 6), NOW).status is AckStatus.APPLIED
    delete = Command("del", 3, NOW, DeleteZone("s0", 3))
    assert small.apply(delete, NOW).status is AckStatus.APPLIED
    assert small.apply(upsert("s-new", 1, 4), NOW).status is AckStatus.APPLIED
    assert len(small.zone_set.zones) == 50
