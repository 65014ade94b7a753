"""The twin's MQTT edge: subscribes to every RSU's topics, validates and applies what arrives,
stores outbox messages once and answers them with receipts, and sends zone commands.

Outbox messages are stored in batches: the receive loop validates each and queues it; a drain
loop takes what has queued (up to ``OUTBOX_BATCH``), stores it in one transaction, applies it to
the twin and then answers each RSU with one receipt naming all its sequences, the receipts of
all RSUs in flight together. A message is receipted only once stored, so one lost anywhere
(a queue dropped with the connection, a receipt never delivered) is sent again by its RSU and
stored once.

Every payload is decoded with ``vicoop.codec_cloud``; a malformed one (or one whose ``rsu_id``
differs from its topic) is counted and logged by the ``vicoop.mqtt.MqttSession``, never applied,
never fatal.

Several workers: every worker subscribes to every RSU's status, perception, signal, SPaT, MAP and vehicle
topics (so each holds the whole live picture), while with ``shared_group`` set the outbox topic
is an MQTT 5 shared subscription (``$share/GROUP/vicoop/v1/rsu/+/outbox``): the broker gives each
outbox message to one worker of the group, and a redelivery to another is stored once by the
database's (rsu_id, sequence) key. Only the leader (``is_leader()``, see ``cloud.leader``) sends
zone commands; every worker keeps its pending commands up to date from statuses and the
acknowledgements it receives. A status naming a zone version this worker has not seen calls
``on_unseen()`` (``ZoneSync.wake``: re-read the zones from the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import sqlalchemy.exc

from cloud.alarms import Alarms
from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from vicoop import codec_cloud
from vicoop.cloudmodel import CommandAck, Event, EventKind, OutboxMessage, RsuHealth
from vicoop.errors import CodecError
from vicoop.model import NS_PER_S
from vicoop.mqtt import (
    MqttAuthConfig,
    MqttSession,
    Topic,
    TopicKind,
    mqtt_credentials,
    parse_mqtt_url,
    topic_filter,
)
from vicoop.signing import CommandSigner

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], None]

OUTBOX_BATCH = 1000  # outbox messages stored in one transaction at most
OUTBOX_QUEUE = 100_000  # outbox messages queued and not stored yet at most (beyond: resent)
# What every worker receives (the live picture); the outbox alone is spread over the workers.
LIVE_KINDS = (
    TopicKind.STATUS,
    TopicKind.PERCEPTION,
    TopicKind.SIGNAL,
    TopicKind.SPAT,
    TopicKind.MAP,
    TopicKind.VEHICLES,
)


def subscriptions(shared_group: str | None) -> list[str]:
    """One worker: every RSU topic (a topic of no known kind is counted as malformed). With
    ``shared_group``: the live kinds for this worker alone, the outbox shared by the group."""
    if not shared_group:
        return [topic_filter()]
    return [
        *(topic_filter(kind=kind) for kind in LIVE_KINDS),
        topic_filter(kind=TopicKind.OUTBOX, shared_group=shared_group),
    ]


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
        is_leader: Callable[[], bool] = lambda: True,
        on_unseen: Callable[[], None] = lambda: None,
        alarms: Alarms | None = None,
        signer: CommandSigner | None = None,
        auth: MqttAuthConfig | None = None,
    ) -> None:
        self.twin = twin
        self.signer = signer
        self.zones = zones
        self.store = store
        self.clock = clock
        self.notify = notify or (lambda kind, data: None)
        self.alarms = alarms
        self.lag_ns: deque[int] = deque(maxlen=200_000)
        # Called with every summary's publish -> applied lag in seconds (the metrics' histogram).
        self.lag_observers: list[Callable[[float], None]] = []
        self._kick = asyncio.Event()
        self._outbox_in: deque[tuple[OutboxMessage, int]] = deque()
        self._outbox_ready = asyncio.Event()
        self.outbox_dropped = 0  # queued beyond OUTBOX_QUEUE: not receipted, so resent
        self.commands_sent = 0  # zone commands this worker published (the leader's)
        self.is_leader = is_leader
        self.on_unseen = on_unseen
        url = parse_mqtt_url(mqtt_url)
        self.session = MqttSession(
            url,
            client_id,
            subscribe=subscriptions(shared_group),
            on_message=self._handle,
            while_connected=self._while_connected,
            mqtt5=bool(shared_group),
            max_queued_incoming=100_000,
            on_task_failure=self._task_failed,
            credentials=mqtt_credentials(url, auth),
        )

    async def start(self) -> None:
        await self.session.start()

    async def stop(self) -> None:
        await self.session.stop()

    def _task_failed(self, name: str, error: BaseException | None) -> None:
        """The session died (its supervisor logged it and restarts it): an alarm, stored and on
        the live feed, for the operator."""
        if self.alarms is not None:
            self.alarms.task_failed(f"ingest {name}", error)
        else:
            self.notify("alarm", {"task": f"ingest {name}", "error": repr(error)})

    def kick(self) -> None:
        """Send due commands now (after a zone change)."""
        self._kick.set()

    async def _while_connected(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._commands())
            group.create_task(self._drain_outbox())

    async def _commands(self) -> None:
        while True:
            now = self.clock()
            forgotten = self.twin.counters.forgotten
            for rsu_id in self.twin.expire(now):
                self.notify("rsu", {"rsu_id": rsu_id, "online": False})
            if self.twin.counters.forgotten > forgotten:  # their rows go too
                before = now - int(self.twin.limits.forget_offline_after_s * NS_PER_S)
                try:
                    await asyncio.to_thread(self.store.forget_rsus, before)
                except sqlalchemy.exc.SQLAlchemyError as exc:  # the next forgotten RSU retries
                    log.warning("could not delete forgotten RSUs' rows: %s", exc)
            if self.is_leader() and self.signer is not None:
                online = {r.rsu_id for r in self.twin.rsus.values() if r.online}
                for rsu_id, command in self.zones.due(online, now):
                    # Signed afresh at every send: a command that waited for an offline RSU
                    # is fresh when it goes out (vicoop.signing).
                    signed = self.signer.sign(rsu_id, codec_cloud.encode_command(command), now)
                    await self.session.publish(
                        Topic(rsu_id, TopicKind.COMMANDS),
                        codec_cloud.encode_signed_command(signed),
                        qos=1,
                    )
                    self.commands_sent += 1
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
            lag_ns = self.clock() - summary.published_at_ns
            self.lag_ns.append(lag_ns)
            for observe in self.lag_observers:
                observe(lag_ns / NS_PER_S)
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
                if self.zones.unseen:
                    self.on_unseen()
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
        elif kind is TopicKind.SPAT:
            if not payload:  # a cleared retained message (SPaT itself is never retained)
                return
            spat_rsu, _, spats = codec_cloud.decode_rsu_spat(payload)
            _same(rsu_id, spat_rsu, kind)
            self.twin.apply_spat(rsu_id, spats, now)  # the feed's snapshots carry it
        elif kind is TopicKind.MAP:
            if not payload:  # a cleared retained message
                return
            map_rsu, maps = codec_cloud.decode_rsu_map(payload)
            _same(rsu_id, map_rsu, kind)
            self.twin.apply_map(rsu_id, maps, now)
            self.notify("map", {"rsu_id": rsu_id})
        elif kind is TopicKind.VEHICLES:
            batch_rsu, reports = codec_cloud.decode_reports(payload)
            _same(rsu_id, batch_rsu, kind)
            self.twin.apply_reports(rsu_id, reports, now)
        elif kind is TopicKind.OUTBOX:
            message = codec_cloud.decode_outbox(payload)
            _same(rsu_id, message.rsu_id, kind)
            if len(self._outbox_in) >= OUTBOX_QUEUE:
                self.outbox_dropped += 1  # never receipted: its RSU sends it again
                return
            self._outbox_in.append((message, now))
            self._outbox_ready.set()
        # COMMANDS and RECEIPTS: our own messages to the RSUs.

    async def _drain_outbox(self) -> None:
        while True:
            await self._outbox_ready.wait()
            batch = [
                self._outbox_in.popleft() for _ in range(min(OUTBOX_BATCH, len(self._outbox_in)))
            ]
            if not self._outbox_in:
                self._outbox_ready.clear()
            if batch:
                await self._store_outbox(batch)

    async def _store_outbox(self, batch: list[tuple[OutboxMessage, int]]) -> None:
        """Store ``batch`` once, apply what is new to the twin, then receipt all of it."""
        new: list[tuple[OutboxMessage, int]] = []
        keys: set[tuple[str, int]] = set()
        for message, at in batch:
            key = (message.rsu_id, message.sequence)
            if key not in keys and self.twin.is_new(*key):
                keys.add(key)
                new.append((message, at))
            else:
                self.twin.counters.duplicates_discarded += 1
        if new:
            await asyncio.to_thread(self.store.add_outbox, new)
        for message, at in new:
            body = message.body
            if isinstance(body, Event):
                self.twin.apply_event(message.rsu_id, message.sequence, body, at)
                if body.kind is EventKind.TASK_FAILED and self.alarms is not None:
                    self.alarms.from_rsu(message.rsu_id, body.detail, body.occurred_at_ns)
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
                self.twin.apply_ack(message.rsu_id, message.sequence, body, at)
                self.zones.acked(message.rsu_id, body)
        # Stored (now or before): the RSUs may forget them.
        receipts: dict[str, list[int]] = {}
        for message, _ in batch:
            receipts.setdefault(message.rsu_id, []).append(message.sequence)
        await asyncio.gather(
            *(
                self.session.publish(
                    Topic(rsu_id, TopicKind.RECEIPTS),
                    codec_cloud.encode_receipt(sequences),
                    qos=1,
                )
                for rsu_id, sequences in receipts.items()
            )
        )


def _same(topic_rsu: str, payload_rsu: str, kind: TopicKind) -> None:
    if topic_rsu != payload_rsu:
        raise CodecError(f"{kind}.rsu_id {payload_rsu!r} differs from the topic's {topic_rsu!r}")
