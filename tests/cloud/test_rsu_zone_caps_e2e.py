"""Defect 6 end to end: 760 large zone commands sent through the real broker to a real RSU daemon
are refused beyond its caps (counted), and its publish loop keeps its ticks (the daemon's own
``ticks_missed`` counter), where before the RSU held all 760 and skipped ticks."""

from __future__ import annotations

import math
from pathlib import Path

import aiomqtt

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from tests.conftest import RSU_COMMAND_KEYS, twin_signed, until
from vicoop import codec_cloud
from vicoop.cloudmodel import Command, UpsertZone
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url
from vicoop.zones import Zone, ZoneRules

LAT, LON = 50.9375, 6.9603


def large_zone(k: int, vertices: int = 900) -> Zone:
    ring = tuple(
        (
            LON + 0.003 * math.cos(2 * math.pi * j / vertices) + k * 1e-6,
            LAT + 0.002 * math.sin(2 * math.pi * j / vertices),
        )
        for j in range(vertices)
    )
    return Zone(f"big-{k}", 1, f"big {k}", ring, ZoneRules(speed_limit_mps=30.0))


async def test_760_large_zones_are_refused_past_the_caps_and_no_tick_is_skipped(
    mqtt_url: str, rsu_id: str, tmp_path: Path
) -> None:
    config = RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "origin": {"latitude_deg": LAT, "longitude_deg": LON},
            "server": {"port": 0, "grace_period_s": 0.5},
            "publish": {"rate_hz": 20},
            "source": {"objects": 60},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
                "status_interval_s": 0.3,
            },
        }
    )
    url = parse_mqtt_url(mqtt_url)
    async with RoadsideDaemon(config) as daemon:
        link = daemon.link
        assert link is not None
        await until(lambda: link.session.stats.connected, "the RSU connected to the broker")
        async with aiomqtt.Client(url.host, url.port, identifier=f"{rsu_id}-cloud") as cloud:
            for k in range(760):
                command = Command(f"c{k}", 1, 0, UpsertZone(large_zone(k)))
                await cloud.publish(
                    Topic(rsu_id, TopicKind.COMMANDS).format(),
                    twin_signed(rsu_id, codec_cloud.encode_command(command)),
                    qos=1,
                )
        stats = link.stats
        await until(
            lambda: stats.commands_applied + stats.commands_rejected == 760, "760 commands handled"
        )
        assert stats.commands_applied == 22  # 22 x 900 vertices within max_total_vertices 20 000
        assert link.zones.refused["max_total_vertices"] == 738
        missed = daemon.ticks_missed
        published = daemon.hub.stats().frames_published
        await until(lambda: daemon.hub.stats().frames_published >= published + 200, "200 ticks")
        # Uncapped, every one of these 200 ticks took longer than the 50 ms period; a few late
        # ticks on a loaded machine are allowed.
        assert daemon.ticks_missed - missed < 20
