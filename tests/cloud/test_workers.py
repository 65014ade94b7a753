"""Two twin workers on one database with ``shared_group`` (issue 13, defect 5), through the real
pieces: Mosquitto (MQTT 5 shared subscriptions), the store (PostgreSQL in CI), each worker's HTTP
API, and the RSU's own cloud link (``CloudLink``: on-disk outbox, zone book, acknowledgements).

Before the fix a zone created through one worker was deleted from the RSU by the other (which
had never seen it), each worker's API showed only the RSUs whose messages it happened to get,
and both workers sent commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from cloud.store import Store
from roadside.cloudlink import CloudLink, CloudLinkConfig
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, make_object, until
from vicoop import codec_cloud
from vicoop.cloudmodel import Event, EventKind, PerceptionSummary, RsuHealth, RsuStatus, UpsertZone
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url

from .test_api import OPERATOR, ORIGIN, SQUARE, call

pytestmark = pytest.mark.skipif(
    not os.environ.get("MQTT_URL"),
    reason="shared subscriptions need the machine's Mosquitto (MQTT_URL); amqtt has none",
)


def worker_config(mqtt_url: str, db_url: str, group: str) -> CloudConfig:
    return CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url,
        http_port=0,
        tokens=(TokenConfig(token=OPERATOR, name="otto", role="operator"),),
        shared_group=group,
        command_resend_s=0.5,
        zone_sync_s=0.2,
        leader_retry_s=0.3,
    )


def link(mqtt_url: str, rsu_id: str, tmp_path: Path) -> CloudLink:
    config = CloudLinkConfig(
        command_keys=RSU_COMMAND_KEYS,
        enabled=True,
        mqtt_url=mqtt_url,
        outbox_path=str(tmp_path / f"{rsu_id}-outbox.sqlite3"),
        resend_after_s=0.5,
        status_interval_s=0.2,
    )
    return CloudLink(config, rsu_id, ORIGIN)


def zone_body(zone_id: str | None, **rules: Any) -> dict[str, Any]:
    """A zone for POST (with ``zone_id``) or PUT (``None``)."""
    return {
        **({} if zone_id is None else {"zone_id": zone_id}),
        "name": zone_id or "changed",
        "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
        "rules": rules,
    }


async def api(service: CloudService, method: str, path: str, body: Any = None) -> Any:
    status, data = await asyncio.to_thread(call, service, method, path, OPERATOR, body)
    assert status < 300, (method, path, status, data)
    return data


def leader(service: CloudService) -> bool:
    return service.leadership is not None and service.leadership.leader


@contextlib.asynccontextmanager
async def workers(
    mqtt_url: str, db_url: tuple[str, str | None]
) -> AsyncIterator[tuple[CloudService, CloudService]]:
    group = f"twins-{uuid.uuid4().hex[:8]}"
    async with (
        CloudService(worker_config(mqtt_url, db_url[0], group), schema=db_url[1]) as a,
        CloudService(worker_config(mqtt_url, db_url[0], group), schema=db_url[1]) as b,
    ):
        yield a, b


async def test_a_zone_created_through_one_worker_stays_on_the_rsu_and_both_apis_list_it(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    rsu = link(mqtt_url, rsu_id, tmp_path)
    async with workers(mqtt_url, db_url) as (a, b):
        await rsu.start()
        try:
            await until(
                lambda: rsu_id in a.twin.rsus or rsu_id in b.twin.rsus, "the RSU known to a twin"
            )
            await api(a, "POST", "/api/v1/zones", zone_body("closure", closed=True))
            await until(lambda: rsu.zones.versions == {"closure": 1}, "the zone on the RSU")
            # Both workers go on reconciling the RSU's statuses; the zone must stay.
            seen = a.twin.counters.statuses + b.twin.counters.statuses
            while a.twin.counters.statuses + b.twin.counters.statuses < seen + 20:
                assert rsu.zones.versions == {"closure": 1}, "a worker deleted the zone"
                await asyncio.sleep(0.05)
            assert rsu.zones.versions == {"closure": 1}

            async def listed() -> list[str]:
                return [z["zone_id"] for z in await api(b, "GET", "/api/v1/zones")]

            for _ in range(600):
                if await listed() == ["closure"]:
                    break
                await asyncio.sleep(0.05)
            assert await listed() == ["closure"]

            # A change through the other worker reaches the RSU too.
            await api(b, "PUT", "/api/v1/zones/closure", zone_body(None, closed=False))
            await until(lambda: rsu.zones.versions == {"closure": 2}, "version 2 on the RSU")
            assert not rsu.zones.zone_set.zones["closure"].rules.closed
        finally:
            await rsu.stop()


async def test_both_workers_show_every_rsu_and_its_objects(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None]
) -> None:
    rsus = [f"{rsu_id}-{i}" for i in range(4)]
    url = parse_mqtt_url(mqtt_url)
    async with (
        workers(mqtt_url, db_url) as (a, b),
        aiomqtt.Client(url.host, url.port, identifier=f"{rsu_id}-rsus") as client,
    ):
        try:
            for n, rsu in enumerate(rsus):
                now = time.time_ns()
                status = RsuStatus(
                    rsu, RsuHealth.OK, ORIGIN, 150.0, (), (), now, 0, zone_versions={}
                )
                await client.publish(
                    str(Topic(rsu, TopicKind.STATUS)),
                    codec_cloud.encode_status(status),
                    qos=1,
                    retain=True,
                )
                summary = PerceptionSummary(
                    rsu, 1, now, now, ORIGIN, (make_object(n + 1, 3.0, 4.0, valid_at_ns=now),), ()
                )
                await client.publish(
                    str(Topic(rsu, TopicKind.PERCEPTION)),
                    codec_cloud.encode_summary(summary),
                    qos=1,
                )
            for service in (a, b):
                await until(
                    lambda s=service: all(r in s.twin.rsus for r in rsus),  # type: ignore[misc]
                    "every RSU in the worker's twin",
                )
                await until(
                    lambda s=service: s.twin.counters.summaries >= len(rsus),  # type: ignore[misc]
                    "every summary in the worker's twin",
                )
                shown = {r["rsu_id"] for r in await api(service, "GET", "/api/v1/rsus")}
                assert set(rsus) <= shown, (service.worker_id, shown)
                objects = await api(service, "GET", "/api/v1/objects")
                seen_by = {r for o in objects for r in o["seen_by"]}
                assert set(rsus) <= seen_by, (service.worker_id, objects)
        finally:
            for rsu in rsus:
                for kind in (TopicKind.STATUS, TopicKind.PERCEPTION):
                    await client.publish(str(Topic(rsu, kind)), b"", qos=1, retain=True)


async def test_the_follower_takes_over_when_the_leader_stops_and_each_version_has_one_issuer(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    url = parse_mqtt_url(mqtt_url)
    issued: dict[tuple[str, int], set[str]] = {}

    async def record() -> None:
        async with aiomqtt.Client(url.host, url.port, identifier=f"{rsu_id}-spy") as spy:
            await spy.subscribe(str(Topic(rsu_id, TopicKind.COMMANDS)), qos=1)
            spying.set()
            async for message in spy.messages:
                assert isinstance(message.payload, bytes)
                signed = codec_cloud.decode_signed_command(message.payload)
                command = codec_cloud.decode_command(signed.command)
                body = command.body
                zone_id = body.zone.zone_id if isinstance(body, UpsertZone) else body.zone_id
                issued.setdefault((zone_id, command.version), set()).add(command.command_id)

    spying = asyncio.Event()
    spy = asyncio.create_task(record())
    rsu = link(mqtt_url, rsu_id, tmp_path)
    group = f"twins-{uuid.uuid4().hex[:8]}"
    config = worker_config(mqtt_url, db_url[0], group)
    first = CloudService(config, schema=db_url[1])
    second = CloudService(config, schema=db_url[1])
    try:
        await asyncio.wait_for(spying.wait(), 30)
        await first.start()
        await second.start()
        await rsu.start()
        assert leader(first) and not leader(second)  # the first to start leads
        _, metrics = await asyncio.to_thread(call, second, "GET", "/api/v1/metrics", OPERATOR)
        assert metrics["leader"] == 0.0
        await until(lambda: rsu_id in second.twin.rsus, "the RSU known to the follower")

        # Created through the follower: sent by the leader alone.
        await api(second, "POST", "/api/v1/zones", zone_body("school", speed_limit_mps=8.0))
        await until(lambda: rsu.zones.versions == {"school": 1}, "the zone on the RSU")
        await until(lambda: not first.zones.pending(), "the leader's command acknowledged")
        assert first.ingest is not None and first.ingest.commands_sent >= 1
        assert second.ingest is not None and second.ingest.commands_sent == 0  # one issuer

        await first.stop()
        await until(lambda: leader(second), "the follower became the leader")
        _, metrics = await asyncio.to_thread(call, second, "GET", "/api/v1/metrics", OPERATOR)
        assert metrics["leader"] == 1.0
        await api(second, "POST", "/api/v1/zones", zone_body("market", closed=True))
        await api(second, "DELETE", "/api/v1/zones/school")
        await until(
            lambda: rsu.zones.versions == {"market": 1}, "the new leader's commands applied"
        )
        assert second.ingest.commands_sent >= 2
        await until(lambda: not second.zones.pending(), "every command acknowledged")
    finally:
        await rsu.stop()
        await second.stop()
        await first.stop()
        spy.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await spy
    # Only these versions were ever commanded, each applied once. (A version may carry two
    # command ids from the one leader: an acknowledgement followed by a status sent before the
    # command was applied queues it again; the RSU answers already-applied.)
    assert set(issued) == {("school", 1), ("market", 1), ("school", 2)}, issued
    assert rsu.stats.commands_applied == 3


async def test_outbox_messages_spread_over_two_workers_are_stored_once_through_a_restart(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    rsu = link(mqtt_url, rsu_id, tmp_path)
    group = f"twins-{uuid.uuid4().hex[:8]}"
    config = worker_config(mqtt_url, db_url[0], group)
    a = CloudService(config, schema=db_url[1])
    b = CloudService(config, schema=db_url[1])
    restarted = CloudService(config, schema=db_url[1])

    def emit(first: int, last: int) -> None:
        for n in range(first, last + 1):
            rsu.emit(Event(EventKind.OTHER, time.time_ns(), detail=f"event {n}"))

    def stored() -> int:
        return a.store.event_count()

    try:
        await a.start()
        await b.start()
        await rsu.start()
        emit(1, 150)
        await until(lambda: stored() == 150, "events 1-150 stored")
        assert a.twin.counters.events > 0 and b.twin.counters.events > 0  # spread over both
        await a.stop()  # a worker goes away; its share goes to the other
        emit(151, 300)
        await until(lambda: stored() == 300, "events 151-300 stored by the one left")
        await restarted.start()
        emit(301, 450)
        await until(lambda: stored() == 450, "events 301-450 stored")
        await until(lambda: rsu.outbox.pending() == 0, "every event receipted")
    finally:
        await rsu.stop()
        await restarted.stop()
        await b.stop()
        await a.stop()
    check = Store(db_url[0], schema=db_url[1])
    try:
        events = check.events(rsu_id=rsu_id, limit=1000)
    finally:
        check.close()
    assert sorted(e.detail for e in events) == sorted(f"event {n}" for n in range(1, 451))
    assert len({e.sequence for e in events}) == 450  # each stored once
