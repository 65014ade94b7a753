"""The twin's MQTT edge against a real broker: malformed payloads, payloads under another RSU's
topic and unknown topic kinds are counted and rejected, never applied and never fatal; a bug
while applying one message is logged and counted, and the next message is applied as usual."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.ingest import TwinIngest
from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from tests.conftest import until
from vicoop import codec_cloud
from vicoop.cloudmodel import (
    Event,
    EventKind,
    OutboxMessage,
    SignalColour,
    SignalGroupState,
    SignalState,
)
from vicoop.mqtt import TOPIC_ROOT, Topic, TopicKind, parse_mqtt_url

# A shared broker (MQTT_URL) holds other tests' retained messages; these are this test's own.
RSU = f"rsu-{uuid.uuid4().hex[:8]}"
JUNCTION = f"junction-{RSU}"


class BrokenSignals(Twin):
    """A twin whose handling of this test RSU's first signal state fails (a stand-in for a bug)."""

    failures = 1

    def apply_signal(self, state: SignalState, now_ns: int) -> None:
        if state.rsu_id == RSU and self.failures:
            self.failures -= 1
            raise RuntimeError("a bug in apply_signal")
        super().apply_signal(state, now_ns)


def signal(rsu_id: str, colour: SignalColour) -> bytes:
    state = SignalState(
        rsu_id, JUNCTION, time.time_ns(), (SignalGroupState("ns-north", "north", colour),)
    )
    return codec_cloud.encode_signal(state)


@pytest.fixture
async def edge(mqtt_url: str, tmp_path: Path) -> AsyncIterator[tuple[TwinIngest, aiomqtt.Client]]:
    store = Store(f"sqlite:///{tmp_path / 'twin.sqlite3'}")
    store.migrate()
    ingest = TwinIngest(
        BrokenSignals(), ZoneManager(), store, mqtt_url, client_id=f"twin-{uuid.uuid4().hex[:8]}"
    )
    await ingest.start()
    await until(ingest.session.connected.is_set, "the twin subscribed")
    broker = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=f"rsu-{uuid.uuid4().hex[:8]}"
    ) as client:
        yield ingest, client
    await ingest.stop()
    store.close()


async def test_bad_messages_are_counted_and_a_failing_apply_does_not_stop_ingest(
    edge: tuple[TwinIngest, aiomqtt.Client],
) -> None:
    ingest, client = edge
    twin, stats = ingest.twin, ingest.session.stats
    signal_topic = str(Topic(RSU, TopicKind.SIGNAL))
    malformed = stats.malformed  # other tests' retained messages are well-formed
    await client.publish(str(Topic(RSU, TopicKind.PERCEPTION)), b"\x08\xff\xff not protobuf", qos=1)
    await client.publish(signal_topic, signal("someone-else", SignalColour.RED), qos=1)
    await client.publish(f"{TOPIC_ROOT}/{RSU}/gossip", b"", qos=1)
    await until(lambda: stats.malformed == malformed + 3, "three rejections counted")

    await client.publish(signal_topic, signal(RSU, SignalColour.RED), qos=1)
    await until(lambda: stats.handler_errors == 1, "the failing apply counted")
    await client.publish(signal_topic, signal(RSU, SignalColour.GREEN), qos=1)
    await until(
        lambda: (
            JUNCTION in twin.signals
            and twin.signals[JUNCTION].groups[0].colour is SignalColour.GREEN
        ),
        "the next signal state applied",
    )
    assert twin.signals[JUNCTION].rsu_id == RSU
    assert stats.handler_errors == 1
    assert ingest.session.connected.is_set()


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from(
        [
            TopicKind.STATUS,
            TopicKind.PERCEPTION,
            TopicKind.SIGNAL,
            TopicKind.VEHICLES,
            TopicKind.OUTBOX,
        ]
    ),
    payload=st.binary(min_size=1, max_size=300),
)
async def test_no_payload_takes_the_ingest_down(
    edge: tuple[TwinIngest, aiomqtt.Client], kind: TopicKind, payload: bytes
) -> None:
    ingest, client = edge
    stats = ingest.session.stats
    before = stats.messages
    await client.publish(str(Topic("fuzz-rsu", kind)), payload, qos=1)
    await until(lambda: stats.messages > before, "the payload handled")
    assert ingest.session.connected.is_set()
    assert stats.handler_errors == 0, "a payload reached a bug, not a rejection"


async def test_a_backlog_is_stored_once_and_answered_with_few_receipts(
    edge: tuple[TwinIngest, aiomqtt.Client],
) -> None:
    """An RSU back from an outage sends its backlog at once (and some of it twice): the twin
    stores each event once and answers with receipts that name many sequences each, not one
    receipt per message, each of which waited for the broker in turn."""
    ingest, client = edge
    rsu = f"rsu-backlog-{uuid.uuid4().hex[:8]}"
    now = time.time_ns()
    await client.subscribe(str(Topic(rsu, TopicKind.RECEIPTS)), qos=1)
    # Back to back, as a link's resend after an outage puts them on the wire (QoS 0 here only
    # so that the test does not wait for each PUBACK in turn).
    for sequence in [*range(1, 301), *range(1, 51)]:
        event = Event(EventKind.ZONE_CLOSED_ENTRY, now, zone_id="z", vehicle_id=f"v-{sequence}")
        await client.publish(
            str(Topic(rsu, TopicKind.OUTBOX)),
            codec_cloud.encode_outbox(OutboxMessage(rsu, sequence, now, event)),
            qos=0,
        )
    receipted: set[int] = set()
    receipts = 0
    async with asyncio.timeout(60):
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            receipted |= set(codec_cloud.decode_receipt(message.payload))
            receipts += 1
            if receipted == set(range(1, 301)):
                break
    stored = [e for e in ingest.store.events(rsu_id=rsu, limit=1000)]
    assert sorted(e.sequence for e in stored) == list(range(1, 301))
    assert receipts < 100, f"{receipts} receipts for 350 messages"
