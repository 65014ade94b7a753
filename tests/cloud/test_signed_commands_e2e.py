"""Commands on an RSU's command topic as an attacker on the broker sends them: a bare command,
one signed by another key, one signed for another RSU, a stale replay, a version leap. Each is
refused, counted and reported to the twin; the twin's own signed command applies.

Needs: an MQTT broker (``MQTT_URL`` or an embedded one).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiomqtt

from roadside.cloudlink import CloudLink, CloudLinkConfig
from tests.conftest import RSU_COMMAND_KEYS, twin_signed, until
from vicoop import codec_cloud
from vicoop.cloudmodel import AckStatus, Command, CommandAck, Event, EventKind, UpsertZone
from vicoop.model import GeodeticOrigin
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url
from vicoop.signing import CommandSigner, load_private_key, write_key_pair
from vicoop.zones import Zone, ZoneRules

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
SQUARE = ((6.9598, 50.937), (6.9608, 50.937), (6.9608, 50.938), (6.9598, 50.938))


def command(command_id: str, version: int) -> bytes:
    zone = Zone("z-1", version, "school street", SQUARE, ZoneRules(speed_limit_mps=8.0), 1)
    return codec_cloud.encode_command(
        Command(command_id, version, time.time_ns(), UpsertZone(zone))
    )


async def test_only_the_twins_signed_commands_for_this_rsu_are_applied(
    mqtt_url: str, rsu_id: str, tmp_path: Path
) -> None:
    config = CloudLinkConfig(
        command_keys=RSU_COMMAND_KEYS,
        enabled=True,
        mqtt_url=mqtt_url,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
        max_version_step=1000,
    )
    write_key_pair(tmp_path / "attacker.pem", tmp_path / "attacker.pub.pem")
    attacker = CommandSigner(load_private_key(tmp_path / "attacker.pem", "k"), "twin-1")
    url = parse_mqtt_url(mqtt_url)
    acks: list[CommandAck] = []
    events: list[Event] = []
    async with (
        aiomqtt.Client(url.host, url.port, identifier=f"{rsu_id}-cloud") as broker,
        CloudLink(config, rsu_id, ORIGIN) as link,
    ):
        await broker.subscribe(str(Topic(rsu_id, TopicKind.OUTBOX)), qos=1)

        async def read_outbox() -> None:
            async for message in broker.messages:
                assert isinstance(message.payload, bytes)
                body = codec_cloud.decode_outbox(message.payload).body
                if isinstance(body, CommandAck) and body not in acks:
                    acks.append(body)
                if isinstance(body, Event) and body not in events:
                    events.append(body)

        reader = asyncio.create_task(read_outbox())
        try:
            await until(link.session.connected.is_set, "the RSU connected")
            topic = str(Topic(rsu_id, TopicKind.COMMANDS))
            # The attack: a zone command published by hand used to be applied.
            await broker.publish(topic, command("cmd-bare", 5), qos=1)
            # Signed, but not by the twin's key; signed for another RSU; an old one replayed.
            forged = attacker.sign(rsu_id, command("cmd-forged", 6), time.time_ns())
            await broker.publish(topic, codec_cloud.encode_signed_command(forged), qos=1)
            await broker.publish(topic, twin_signed("rsu-elsewhere", command("cmd-b", 7)), qos=1)
            old = time.time_ns() - 3600 * 1_000_000_000
            await broker.publish(topic, twin_signed(rsu_id, command("cmd-old", 8), old), qos=1)
            stats = link.stats.commands_untrusted
            await until(lambda: sum(stats.values()) == 4, "four commands refused")
            assert dict(stats) == {"unsigned": 1, "bad_signature": 1, "wrong_rsu": 1, "stale": 1}
            assert link.zones.versions == {}
            await until(lambda: len(events) == 4, "four refusals reported to the twin")
            assert {e.kind for e in events} == {EventKind.COMMAND_REFUSED}
            reasons = sorted(e.detail.split(":")[0] for e in events)
            assert reasons == ["bad_signature", "stale", "unsigned", "wrong_rsu"]

            # The twin's own command applies; a leap past max_version_step is refused.
            await broker.publish(topic, twin_signed(rsu_id, command("cmd-good", 2)), qos=1)
            await until(lambda: len(acks) >= 1, "the twin's command acknowledged")
            assert acks[0].command_id == "cmd-good" and acks[0].status is AckStatus.APPLIED
            await broker.publish(topic, twin_signed(rsu_id, command("cmd-leap", 5000)), qos=1)
            await until(lambda: len(acks) >= 2, "the leap acknowledged")
            assert acks[1].status is AckStatus.REJECTED
            assert "max_version_step 1000" in acks[1].detail
            assert link.zones.versions == {"z-1": 2}
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
