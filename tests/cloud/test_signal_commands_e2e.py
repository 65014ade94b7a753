"""Signal commands through a real broker to a real RSU cloud link: applied through the
intersection's safety supervisor, acknowledged APPLIED / ALREADY_APPLIED / REJECTED (with the
refusal's reason), a refusal also a SIGNAL_COMMAND_REFUSED event; the supervisor knows when the
link is up and when it went down."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiomqtt

from roadside.cloudlink import CloudLink, CloudLinkConfig
from roadside.supervisor import SafetySupervisor
from tests.conftest import until
from tests.roadside.supervisor.programs import BUNDLED, junctions_of
from vicoop import codec_cloud
from vicoop.cloudmodel import AckStatus, Command, CommandAck, Event, EventKind
from vicoop.model import GeodeticOrigin
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url
from vicoop.signalplan import PhasePlan, PhaseRequest, RequestKind, SignalCommand, StageSplit

NS = 1_000_000_000


async def test_signal_commands_are_supervised_acknowledged_and_refusals_reported(
    mqtt_url: str, rsu_id: str, tmp_path: Path
) -> None:
    config = CloudLinkConfig(
        enabled=True, mqtt_url=mqtt_url, outbox_path=str(tmp_path / "outbox.sqlite3")
    )
    the_map, program = junctions_of(BUNDLED)[0]
    supervisor = SafetySupervisor(the_map, program)

    def command(command_id: str, version: int, action: PhasePlan | PhaseRequest) -> bytes:
        now = time.time_ns()
        body = SignalCommand("B1", f"adaptive/{version}", now, now + 600 * NS, action)
        return codec_cloud.encode_command(Command(command_id, version, now, body))

    url = parse_mqtt_url(mqtt_url)
    acks: list[CommandAck] = []
    events: list[Event] = []
    async with (
        aiomqtt.Client(url.host, url.port, identifier=f"{rsu_id}-cloud") as cloud,
        CloudLink(config, rsu_id, GeodeticOrigin(50.9375, 6.9603, 55.0)) as link,
    ):
        link.plans.add(supervisor)
        await cloud.subscribe(str(Topic(rsu_id, TopicKind.OUTBOX)), qos=1)

        async def read() -> None:
            async for message in cloud.messages:
                assert isinstance(message.payload, bytes)
                body = codec_cloud.decode_outbox(message.payload).body
                if isinstance(body, CommandAck) and body not in acks:
                    acks.append(body)
                if isinstance(body, Event) and body not in events:
                    events.append(body)

        reader = asyncio.create_task(read())
        try:
            await until(link.session.connected.is_set, "the RSU connected")
            await until(lambda: supervisor.link_up, "the supervisor knows the link is up")
            topic = str(Topic(rsu_id, TopicKind.COMMANDS))
            plan = PhasePlan(90.0, 0.0, (StageSplit(0, 40.0), StageSplit(2, 40.0)))
            too_short = PhasePlan(90.0, 0.0, (StageSplit(0, 1.0),))
            await cloud.publish(topic, command("sig-1", 1, plan), qos=1)
            await until(lambda: len(acks) >= 1, "the plan acknowledged")
            await cloud.publish(topic, command("sig-1", 1, plan), qos=1)
            await until(lambda: len(acks) >= 2, "the plan again acknowledged")
            await cloud.publish(topic, command("sig-2", 2, too_short), qos=1)
            await until(lambda: len(acks) >= 3 and events, "the short plan refused, an event")
            hold = PhaseRequest(RequestKind.HOLD, (9,))
            await cloud.publish(topic, command("sig-3", 3, hold), qos=1)
            await until(lambda: len(acks) >= 4, "the hold of no stage refused")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    assert [(a.command_id, a.status) for a in acks] == [
        ("sig-1", AckStatus.APPLIED),
        ("sig-1", AckStatus.ALREADY_APPLIED),
        ("sig-2", AckStatus.REJECTED),
        ("sig-3", AckStatus.REJECTED),
    ]
    assert acks[2].detail == (
        "refused: split_below_min_green: stage 0: split 1 s < minimum green 5 s"
    )
    assert acks[3].detail == "refused: unknown_stage: stage 9 is not in the program"
    assert [e.kind for e in events] == [EventKind.SIGNAL_COMMAND_REFUSED] * len(events)
    assert events[0].detail.startswith("B1 adaptive/2: split_below_min_green")
    assert supervisor.stats.accepted == 1 and link.plans.versions == {"B1": 1}
    assert link.stats.commands_applied == 1 and link.stats.commands_rejected == 2
    assert not supervisor.link_up  # the link stopped: the site's program
