"""Done-when of the cloud link: the broker is killed mid-run and restarted, the RSU is restarted,
and no event or acknowledgement is lost and none is applied twice."""

from __future__ import annotations

import time
from pathlib import Path

import aiomqtt

from cloud.ingest import TwinIngest
from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from roadside.cloudlink import CloudLink, CloudLinkConfig
from tests.conftest import RSU_COMMAND_KEYS, KillableBroker, twin_signed, twin_signer, until
from vicoop import codec_cloud
from vicoop.cloudmodel import AckStatus, Command, Event, EventKind, OutboxMessage, UpsertZone
from vicoop.model import GeodeticOrigin
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url
from vicoop.zones import Zone, ZoneRules

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
# About 70 m x 110 m around the origin.
AREA = ((6.9598, 50.9370), (6.9608, 50.9370), (6.9608, 50.9380), (6.9598, 50.9380))


def link_config(url: str, outbox: Path) -> CloudLinkConfig:
    return CloudLinkConfig(
        command_keys=RSU_COMMAND_KEYS,
        enabled=True,
        mqtt_url=url,
        outbox_path=str(outbox),
        resend_after_s=0.5,
        status_interval_s=0.3,
    )


def event(n: int) -> Event:
    return Event(EventKind.OTHER, time.time_ns(), detail=f"event {n}")


async def test_nothing_lost_nothing_twice_across_broker_kill_and_rsu_restart(
    killable_broker: KillableBroker, store: Store, tmp_path: Path
) -> None:
    broker = killable_broker
    twin = Twin()
    zones = ZoneManager(resend_after_s=0.5)
    ingest = TwinIngest(
        twin, zones, store, broker.url, client_id="twin-under-test", signer=twin_signer()
    )
    outbox = tmp_path / "rsu" / "outbox.sqlite3"
    rsu = CloudLink(link_config(broker.url, outbox), "rsu-a", ORIGIN)
    await ingest.start()
    await rsu.start()
    try:
        for n in range(1, 21):
            rsu.emit(event(n))
        zones.put(Zone("school", 1, "school street", AREA, ZoneRules(speed_limit_mps=8.0)))
        await until(lambda: store.event_count() == 20, "the first 20 events stored")
        await until(lambda: rsu.zones.versions == {"school": 1}, "zone v1 applied on the RSU")

        # The broker dies with SIGKILL: whatever it held in memory is gone.
        await broker.kill()
        for n in range(21, 41):
            rsu.emit(event(n))
        zones.put(Zone("school", 2, "school street", AREA, ZoneRules(speed_limit_mps=6.0)))
        assert rsu.outbox.pending() >= 20
        await broker.start()
        await until(lambda: store.event_count() == 40, "events 21-40 stored after the restart")

        # Down again, and the RSU restarts with messages still in its outbox.
        await until(lambda: rsu.zones.versions == {"school": 2}, "zone v2 applied on the RSU")
        await broker.kill()
        for n in range(41, 51):
            rsu.emit(event(n))
        zones.put(Zone("school", 3, "school street", AREA, ZoneRules(closed=True)))
        await rsu.stop()
        rsu = CloudLink(link_config(broker.url, outbox), "rsu-a", ORIGIN)
        assert rsu.outbox.pending() >= 10  # survived the restart on disk
        assert rsu.zones.versions == {"school": 2}  # so did the zones
        await broker.start()
        await rsu.start()
        await until(lambda: store.event_count() == 50, "events 41-50 stored after the RSU restart")
        await until(lambda: rsu.zones.versions == {"school": 3}, "zone v3 reached the RSU")
        await until(lambda: rsu.outbox.pending() == 0, "the RSU's outbox emptied by receipts")
        await until(lambda: not zones.pending(), "every command acknowledged")

        # Deliberate repeats: an outbox message and a command delivered a second time.
        url = parse_mqtt_url(broker.url)
        duplicate = OutboxMessage("rsu-a", 1, time.time_ns(), event(1))
        zone_v3 = zones.zones["school"]
        repeat = Command("cmd-repeat", 3, time.time_ns(), UpsertZone(zone_v3))
        before = twin.counters.duplicates_discarded
        async with aiomqtt.Client(url.host, url.port, identifier="test-injector") as injector:
            await injector.publish(
                str(Topic("rsu-a", TopicKind.OUTBOX)), codec_cloud.encode_outbox(duplicate), qos=1
            )
            await injector.publish(
                str(Topic("rsu-a", TopicKind.COMMANDS)),
                twin_signed("rsu-a", codec_cloud.encode_command(repeat)),
                qos=1,
            )
        await until(lambda: twin.counters.duplicates_discarded > before, "the repeat discarded")
        await until(
            lambda: any(a[2] == "cmd-repeat" for a in store.acks("rsu-a")),
            "the repeated command acknowledged",
        )
    finally:
        await rsu.stop()
        await ingest.stop()

    stored = store.events(rsu_id="rsu-a", limit=1000)
    assert sorted(e.detail for e in stored) == sorted(f"event {n}" for n in range(1, 51))
    assert len({e.sequence for e in stored}) == 50  # each outbox message stored once
    assert twin.counters.events == 50
    acks = store.acks("rsu-a")
    assert len({(a[0], a[1]) for a in acks}) == len(acks)  # no acknowledgement stored twice
    statuses = {a[2]: a[4] for a in acks}
    assert statuses["cmd-repeat"] == AckStatus.ALREADY_APPLIED.name.lower()
    applied_versions = sorted(a[3] for a in acks if a[4] == "applied")
    assert applied_versions == [1, 2, 3]  # each zone version applied exactly once
