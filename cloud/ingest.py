"""The twin's MQTT edge: subscribes to every RSU's topics, validates and applies what arrives,
stores outbox messages once and answers them with receipts, and sends zone commands.

Every payload is decoded with ``vicoop.codec_cloud``; a malformed one (or one whose ``rsu_id``
differs from its topic) is counted and logged by the ``vicoop.mqtt.MqttSession``, never applied,
never fatal. With ``shared_group`` set, the subscription is an MQTT 5 shared subscription
(``$share/GROUP/vicoop/v1/rsu/+/+``), so several twin workers split the RSUs' traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from vicoop import codec_cloud
from vicoop.cloudmodel import CommandAck, Event, OutboxMessage, RsuHealth
from vicoop.errors import CodecError
from vicoop.mqtt import MqttSession, Topic, TopicKind, parse_mqtt_url, topic_filter

Notify = Callable[[str, dict[str, Any]], None]


class TwinIngest:
    """Feeds ``twin`` from the broker at ``mqtt_url``; ``start()``/``stop()`` own its MQTT
    session (``session.stats`` counts messages, rejections and handler bugs; ``lag_ns`` holds
    the latest summaries' publish -> applied times, ns)."""

    def __init__(
        self,
        twin: Twin,
        zones: ZoneManager,
        store: Store,
        mqtt_url: str,
        *,
        clock: Callable[[], int] = time.time_ns,
        notify: Notify | None = None,
        shared_group: str | None = None,
        client_id: str = "vicoop-twin",
    ) -> None:
        self.twin = twin
        self.zones = zones
        self.store = store
        self.clock = clock
        self.notify = notify or (lambda kind, data: None)
        self.lag_ns: deque[int] = deque(maxlen=200_000)
        self._kick = asyncio.Event()
        self.session = MqttSession(
            parse_mqtt_url(mqtt_url),
            client_id,
            subscribe=[topic_filter(shared_group=shared_group or None)],
            on_message=self._handle,
            while_connected=self._commands,
            mqtt5=bool(shared_group),
            max_queued_incoming=100_000,
        )

    async def start(self) -> None:
        await self.session.start()

    async def stop(self) -> None:
        await self.session.stop()

    def kick(self) -> None:
        """Send due commands now (after a zone change)."""
        self._kick.set()

    async def _commands(self) -> None:
        while True:
            now = self.clock()
            for rsu_id in self.twin.expire(now):
                self.notify("rsu", {"rsu_id": rsu_id, "online": False})
            online = {r.rsu_id for r in self.twin.rsus.values() if r.online}
            for rsu_id, command in self.zones.due(online, now):
                await self.session.publish(
                    Topic(rsu_id, TopicKind.COMMANDS), codec_cloud.encode_command(command), qos=1
                )
            self._kick.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):  # not wait_for: it can swallow a cancellation
                    await self._kick.wait()

    async def _handle(self, topic: Topic, payload: bytes) -> None:
        rsu_id, kind = topic.rsu_id, topic.kind
        now = self.clock()
        if kind is TopicKind.PERCEPTION:
            summary = codec_cloud.decode_summary(payload)
            _same(rsu_id, summary.rsu_id, kind)
            self.twin.apply_summary(summary, now)
            self.lag_ns.append(self.clock() - summary.published_at_ns)
        elif kind is TopicKind.STATUS:
            if not payload:  # a cleared retained message
                return
            status = codec_cloud.decode_status(payload)
            _same(rsu_id, status.rsu_id, kind)
            changed = self.twin.apply_status(status, now)
            if status.health is not RsuHealth.OFFLINE and rsu_id in self.twin.rsus:
                self.zones.reconcile(
                    rsu_id, status.origin, status.coverage_radius_m, dict(status.zone_versions), now
                )
                self._kick.set()
            if changed:
                view = self.twin.rsus[rsu_id]
                await asyncio.to_thread(
                    self.store.save_rsu,
                    rsu_id,
                    view.online,
                    view.health.name.lower(),
                    view.origin.latitude_deg,
                    view.origin.longitude_deg,
                    view.last_seen_ns,
                )
                self.notify("rsu", {"rsu_id": rsu_id, "online": view.online})
        elif kind is TopicKind.SIGNAL:
            state = codec_cloud.decode_signal(payload)
            _same(rsu_id, state.rsu_id, kind)
            self.twin.apply_signal(state, now)
            self.notify("signal", {"intersection_id": state.intersection_id})
        elif kind is TopicKind.VEHICLES:
            batch_rsu, reports = codec_cloud.decode_reports(payload)
            _same(rsu_id, batch_rsu, kind)
            self.twin.apply_reports(rsu_id, reports, now)
        elif kind is TopicKind.OUTBOX:
            message = codec_cloud.decode_outbox(payload)
            _same(rsu_id, message.rsu_id, kind)
            await self._outbox(message, now)
        # COMMANDS and RECEIPTS: our own messages to the RSUs.

    async def _outbox(self, message: OutboxMessage, now: int) -> None:
        body = message.body
        if self.twin.is_new(message.rsu_id, message.sequence):
            if isinstance(body, Event):
                await asyncio.to_thread(
                    self.store.add_event, message.rsu_id, message.sequence, body, now
                )
                self.twin.apply_event(message.rsu_id, message.sequence, body, now)
                self.notify(
                    "event",
                    {
                        "rsu_id": message.rsu_id,
                        "kind": body.kind.name.lower(),
                        "detail": body.detail,
                    },
                )
            else:
                assert isinstance(body, CommandAck)
                await asyncio.to_thread(self.store.add_ack, message.rsu_id, message.sequence, body)
                self.twin.apply_ack(message.rsu_id, message.sequence, body, now)
                self.zones.acked(message.rsu_id, body)
        else:
            self.twin.counters.duplicates_discarded += 1
        # Stored (now or before): the RSU may forget it.
        await self.session.publish(
            Topic(message.rsu_id, TopicKind.RECEIPTS),
            codec_cloud.encode_receipt([message.sequence]),
            qos=1,
        )


def _same(topic_rsu: str, payload_rsu: str, kind: TopicKind) -> None:
    if topic_rsu != payload_rsu:
        raise CodecError(f"{kind}.rsu_id {payload_rsu!r} differs from the topic's {topic_rsu!r}")
