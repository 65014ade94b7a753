"""The twin's MQTT edge: subscribes to every RSU's topics, validates and applies what arrives,
stores outbox messages once and answers them with receipts, and sends zone commands.

Every payload is decoded with ``vicoop.codec_cloud``; a malformed one (or one whose ``rsu_id``
differs from its topic) is counted and logged, never applied, never fatal. With
``shared_group`` set, the subscription is an MQTT 5 shared subscription
(``$share/GROUP/vicoop/v1/rsu/+/+``), so several twin workers split the RSUs' traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiomqtt

from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from roadside.cloudlink.link import TOPIC_ROOT, parse_mqtt_url, topic
from vicoop import codec_cloud
from vicoop.cloudmodel import CommandAck, Event, OutboxMessage, RsuHealth
from vicoop.errors import CodecError

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], None]


class TwinIngest:
    """Feeds ``twin`` from the broker at ``mqtt_url``; ``start()``/``stop()`` own the task."""

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
        self.host, self.port = parse_mqtt_url(mqtt_url)
        self.clock = clock
        self.notify = notify or (lambda kind, data: None)
        self.shared_group = shared_group
        self.client_id = client_id
        self.lag_ns: deque[int] = deque(maxlen=200_000)
        self.messages = 0
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="twin-ingest")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def kick(self) -> None:
        """Send due commands now (after a zone change)."""
        self._kick.set()

    async def _run(self) -> None:
        backoff = 0.1
        filter_ = f"{TOPIC_ROOT}/+/+"
        if self.shared_group:
            filter_ = f"$share/{self.shared_group}/{filter_}"
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.client_id,
                    protocol=aiomqtt.ProtocolVersion.V5 if self.shared_group else None,
                    keepalive=10,
                    timeout=5.0,
                    max_queued_incoming_messages=100_000,
                ) as client:
                    self._client = client
                    await client.subscribe(filter_, qos=1)
                    self.connected.set()
                    backoff = 0.1
                    log.info("twin ingest subscribed to %s on %s:%d", filter_, self.host, self.port)
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._receive(client))
                        group.create_task(self._commands(client))
            except* aiomqtt.MqttError as errors:
                log.warning("twin ingest lost the broker: %s", errors.exceptions[0])
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _commands(self, client: aiomqtt.Client) -> None:
        while True:
            now = self.clock()
            for rsu_id in self.twin.expire(now):
                self.notify("rsu", {"rsu_id": rsu_id, "online": False})
            online = {r.rsu_id for r in self.twin.rsus.values() if r.online}
            for rsu_id, command in self.zones.due(online, now):
                await client.publish(
                    topic(rsu_id, "commands"), codec_cloud.encode_command(command), qos=1
                )
            self._kick.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):  # not wait_for: it can swallow a cancellation
                    await self._kick.wait()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self.messages += 1
            parts = str(message.topic).split("/")
            payload = message.payload
            if len(parts) != 5 or not isinstance(payload, bytes | bytearray):
                self.twin.counters.malformed += 1
                continue
            rsu_id, kind = parts[3], parts[4]
            try:
                await self._handle(client, rsu_id, kind, bytes(payload))
            except CodecError as exc:
                self.twin.counters.malformed += 1
                log.warning("rejected a %s message from %s: %s", kind, rsu_id, exc)
            except (aiomqtt.MqttError, asyncio.CancelledError):
                raise  # the connection's end: reconnect (or stop)
            except Exception:  # a bug in applying one message must not stop the twin's ingest
                self.twin.counters.handler_errors += 1
                log.exception("applying a %s message from %s failed", kind, rsu_id)

    async def _handle(self, client: aiomqtt.Client, rsu_id: str, kind: str, payload: bytes) -> None:
        now = self.clock()
        if kind == "perception":
            summary = codec_cloud.decode_summary(payload)
            _same(rsu_id, summary.rsu_id, kind)
            self.twin.apply_summary(summary, now)
            self.lag_ns.append(self.clock() - summary.published_at_ns)
        elif kind == "status":
            if not payload:  # a cleared retained message
                return
            status = codec_cloud.decode_status(payload)
            _same(rsu_id, status.rsu_id, kind)
            changed = self.twin.apply_status(status, now)
            if status.health is not RsuHealth.OFFLINE:
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
        elif kind == "signal":
            state = codec_cloud.decode_signal(payload)
            _same(rsu_id, state.rsu_id, kind)
            self.twin.apply_signal(state, now)
            self.notify("signal", {"intersection_id": state.intersection_id})
        elif kind == "vehicles":
            batch_rsu, reports = codec_cloud.decode_reports(payload)
            _same(rsu_id, batch_rsu, kind)
            self.twin.apply_reports(rsu_id, reports, now)
        elif kind == "outbox":
            message = codec_cloud.decode_outbox(payload)
            _same(rsu_id, message.rsu_id, kind)
            await self._outbox(client, message, now)
        elif kind in ("commands", "receipts"):
            return  # our own messages to the RSUs
        else:
            raise CodecError(f"unknown topic kind {kind!r}")

    async def _outbox(self, client: aiomqtt.Client, message: OutboxMessage, now: int) -> None:
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
        await client.publish(
            topic(message.rsu_id, "receipts"), codec_cloud.encode_receipt([message.sequence]), qos=1
        )


def _same(topic_rsu: str, payload_rsu: str, kind: str) -> None:
    if topic_rsu != payload_rsu:
        raise CodecError(f"{kind}.rsu_id {payload_rsu!r} differs from the topic's {topic_rsu!r}")
