"""Versions out of range through the real pieces (broker, store, HTTP API, the RSU's link): a
retained RSU status holding a zone version the twin cannot count past is rejected as malformed
and counted, and the twin goes on showing what comes next; an RSU refuses a zone command at a
version it could not store or delete, says why in its acknowledgement, and goes on applying
good commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

import aiomqtt
import pytest

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.cloudlink import CloudLink, CloudLinkConfig
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, make_object, twin_signed, until
from vicoop import codec_cloud
from vicoop.cloudmodel import (
    AckStatus,
    Command,
    CommandAck,
    PerceptionSummary,
    RsuHealth,
    RsuStatus,
    UpsertZone,
)
from vicoop.model import GeodeticOrigin
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url
from vicoop.zones import Zone, ZoneRules

from .test_api import OPERATOR, ORIGIN, SQUARE, call


def status(rsu_id: str, health: RsuHealth, zone_versions: dict[str, int]) -> RsuStatus:
    return RsuStatus(
        rsu_id=rsu_id,
        health=health,
        origin=ORIGIN,
        coverage_radius_m=150.0,
        intersections=(),
        sensors=(),
        sent_at_ns=time.time_ns(),
        outbox_pending=0,
        zone_versions=zone_versions,
    )


async def test_a_retained_status_with_a_version_past_the_range_does_not_freeze_the_twin(
    mqtt_url: str,
    rsu_id: str,
    db_url: tuple[str, str | None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=OPERATOR, name="otto", role="operator"),),
    )
    url = parse_mqtt_url(mqtt_url)
    status_topic = str(Topic(rsu_id, TopicKind.STATUS))
    async with aiomqtt.Client(url.host, url.port, identifier=f"{rsu_id}-faulty") as rsu:
        # What a faulty RSU left retained before the twin started: a zone at 2^64 - 1.
        await rsu.publish(
            status_topic,
            codec_cloud.encode_status(status(rsu_id, RsuHealth.OK, {"z-far": 2**64 - 1})),
            qos=1,
            retain=True,
        )
        with caplog.at_level(logging.WARNING, logger="vicoop.mqtt"):
            async with CloudService(config, schema=db_url[1]) as service:
                assert service.ingest is not None
                stats = service.ingest.session.stats
                await until(
                    lambda: stats.malformed_by_kind["status"] >= 1, "the retained status rejected"
                )
                # The RSU comes back to its senses: a good status, then what it sees.
                await rsu.publish(
                    status_topic,
                    codec_cloud.encode_status(status(rsu_id, RsuHealth.DEGRADED, {})),
                    qos=1,
                    retain=True,
                )
                now = time.time_ns()
                summary = PerceptionSummary(
                    rsu_id, 1, now, now, ORIGIN, (make_object(7, 3.0, 4.0, valid_at_ns=now),), ()
                )
                await until(
                    lambda: (
                        rsu_id in service.twin.rsus
                        and service.twin.rsus[rsu_id].health is RsuHealth.DEGRADED
                    ),
                    "the good status applied",
                )
                await rsu.publish(
                    str(Topic(rsu_id, TopicKind.PERCEPTION)),
                    codec_cloud.encode_summary(summary),
                    qos=1,
                )
                await until(lambda: service.twin.counters.summaries >= 1, "the summary applied")
                code, rsus = await asyncio.to_thread(call, service, "GET", "/api/v1/rsus", OPERATOR)
                assert code == 200, rsus
                (shown,) = [r for r in rsus if r["rsu_id"] == rsu_id]
                assert (shown["online"], shown["health"], shown["zone_versions"]) == (
                    True,
                    "degraded",
                    {},
                )
                code, objects = await asyncio.to_thread(
                    call, service, "GET", "/api/v1/objects", OPERATOR
                )
                assert code == 200, objects
                assert any(rsu_id in o["seen_by"] for o in objects), objects
                assert service.ingest.session.connected.is_set()
                assert stats.handler_errors == 0
                assert stats.malformed_by_kind["status"] >= 1
                assert [s.failures for s in service.supervisors] == [0, 0, 0, 0]  # none died
                assert any(
                    "status.zone_versions['z-far']" in r.getMessage()
                    and str(2**64 - 1) in r.getMessage()
                    for r in caplog.records
                ), [r.getMessage() for r in caplog.records]


async def test_the_rsu_refuses_a_zone_command_at_a_version_it_could_not_count_past(
    mqtt_url: str, rsu_id: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = CloudLinkConfig(
        command_keys=RSU_COMMAND_KEYS,
        enabled=True,
        mqtt_url=mqtt_url,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
    )
    origin = GeodeticOrigin(ORIGIN.latitude_deg, ORIGIN.longitude_deg, ORIGIN.altitude_m)
    polygon = tuple((lon, lat) for lon, lat in SQUARE[:-1])

    def command(command_id: str, version: int) -> bytes:
        zone = Zone("z-1", version, "school street", polygon, ZoneRules(speed_limit_mps=8.0), 1)
        return twin_signed(
            rsu_id,
            codec_cloud.encode_command(
                Command(command_id, version, time.time_ns(), UpsertZone(zone))
            ),
        )

    url = parse_mqtt_url(mqtt_url)
    acks: list[CommandAck] = []
    async with (
        aiomqtt.Client(url.host, url.port, identifier=f"{rsu_id}-cloud") as cloud,
        CloudLink(config, rsu_id, origin) as link,
    ):
        await cloud.subscribe(str(Topic(rsu_id, TopicKind.OUTBOX)), qos=1)

        async def read_acks() -> None:
            async for message in cloud.messages:
                assert isinstance(message.payload, bytes)
                body = codec_cloud.decode_outbox(message.payload).body
                if isinstance(body, CommandAck) and body not in acks:
                    acks.append(body)

        reader = asyncio.create_task(read_acks())
        try:
            await until(link.session.connected.is_set, "the RSU connected")
            commands = str(Topic(rsu_id, TopicKind.COMMANDS))
            with caplog.at_level(logging.WARNING):
                await cloud.publish(commands, command("cmd-huge", 2**63 - 1), qos=1)
                await until(lambda: len(acks) >= 1, "the huge command acknowledged")
            (refused,) = acks
            assert refused.command_id == "cmd-huge"
            assert refused.status is AckStatus.REJECTED
            assert "command.version" in refused.detail and str(2**63 - 1) in refused.detail
            assert link.zones.versions == {}
            assert link.session.stats.malformed_by_kind["commands"] == 1

            await cloud.publish(commands, command("cmd-good", 2), qos=1)
            await until(lambda: len(acks) >= 2, "the good command acknowledged")
            assert acks[1].command_id == "cmd-good" and acks[1].status is AckStatus.APPLIED
            assert link.zones.versions == {"z-1": 2}
            assert link.session.stats.handler_errors == 0
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
