"""The RSU's side of the RSU <-> cloud link over MQTT (aiomqtt), protobuf payloads.

Topics are ``vicoop/v1/rsu/{rsu_id}/{kind}`` (see ``cloud.proto``). The status is retained, with a
retained last will saying OFFLINE, so the twin sees the RSU drop. Events and acknowledgements go
through the on-disk ``Outbox`` and are sent again until the cloud's receipt names them: nothing is
lost across a broker outage or an RSU restart, and the twin applies each sequence number once.
Commands are applied by the ``ZoneBook``, idempotently, and acknowledged through the outbox.
Signal states (retained, topic ``signal``) come from the ``SignalBook``: each as soon as it
changes (at most ten a second per intersection) and all at every status interval.

``on_frame`` (called by the publish loop, synchronous, never waits) is the only entry point from
the RSU's hot path: it runs the zone monitor and queues a summary at ``summary_rate_hz``;
``on_signal`` takes the signal controller's states (from the daemon's signal input).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiomqtt

from roadside.cloudlink.config import CloudLinkConfig
from roadside.cloudlink.monitor import ZoneMonitor
from roadside.cloudlink.outbox import Outbox
from roadside.cloudlink.signals import SignalBook
from roadside.cloudlink.summary import approach_measures
from roadside.cloudlink.zonebook import ZoneBook
from vicoop import codec_cloud
from vicoop.cloudmodel import (
    Event,
    Intersection,
    PerceptionSummary,
    RsuHealth,
    RsuStatus,
    SignalState,
    VehicleReport,
)
from vicoop.errors import CodecError
from vicoop.model import NS_PER_S, GeodeticOrigin, PerceptionFrame, SensorHealth

log = logging.getLogger(__name__)

TOPIC_ROOT = "vicoop/v1/rsu"


def topic(rsu_id: str, kind: str) -> str:
    return f"{TOPIC_ROOT}/{rsu_id}/{kind}"


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` -> (host, port); the port defaults to 1883."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"not an mqtt://host:port URL: {url!r}")
    return parts.hostname, parts.port or 1883


@dataclass(slots=True)
class LinkStats:
    connected: bool = False
    connections: int = 0
    summaries_sent: int = 0
    signals_sent: int = 0
    outbox_sent: int = 0
    outbox_confirmed: int = 0
    commands_applied: int = 0
    commands_repeated: int = 0
    commands_rejected: int = 0
    malformed_messages: int = 0
    handler_errors: int = 0


class CloudLink:
    """One RSU's link; ``start()``/``stop()`` own its background task."""

    def __init__(
        self,
        config: CloudLinkConfig,
        rsu_id: str,
        origin: GeodeticOrigin,
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.rsu_id = rsu_id
        self.origin = origin
        self.clock = clock
        self.host, self.port = parse_mqtt_url(config.mqtt_url)
        self.outbox = Outbox(config.outbox_path, rsu_id)
        self.zones = ZoneBook(self.outbox)
        self.monitor = ZoneMonitor()
        self.intersections = tuple(
            Intersection(i.intersection_id, i.center_x_m, i.center_y_m)
            for i in config.intersections
        )
        self.signals = SignalBook(
            rsu_id,
            [i.intersection_id for i in self.intersections],
            config.signals.source,
            round(config.signals.stale_after_s * NS_PER_S),
        )
        self.stats = LinkStats()
        self.health = RsuHealth.OK
        self._summary: PerceptionSummary | None = None
        self._reports: list[VehicleReport] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._summary_interval_ns = round(NS_PER_S / config.summary_rate_hz)
        self._next_summary_ns = 0
        self._sensors: tuple = ()  # type: ignore[type-arg]
        self._client: aiomqtt.Client | None = None

    # the RSU's side ------------------------------------------------------------------------

    def on_frame(self, frame: PerceptionFrame, permits: Mapping[str, str] | None = None) -> None:
        """Called for every published frame: zone violations become events; a summary is queued
        at the configured rate (latest wins). ``permits``: reporting vehicles' ids -> the
        automated-driving permit each reported."""
        for event in self.monitor.check(frame, self.zones.zone_set, frame.valid_at_ns, permits):
            self.emit(event)
        self._sensors = frame.sensors
        health = (
            RsuHealth.OK
            if all(s.health in (SensorHealth.OK, SensorHealth.UNSPECIFIED) for s in frame.sensors)
            else RsuHealth.DEGRADED
        )
        if health is not self.health:
            self.health = health
            self._wake.set()
        if frame.valid_at_ns >= self._next_summary_ns:
            self._next_summary_ns = frame.valid_at_ns + self._summary_interval_ns
            measures = tuple(m for i in self.intersections for m in approach_measures(frame, i))
            self._summary = PerceptionSummary(
                frame.rsu_id,
                frame.sequence,
                frame.valid_at_ns,
                self.clock(),
                frame.origin,
                frame.objects,
                measures,
            )
            self._wake.set()

    def on_signal(self, state: SignalState) -> None:
        """A state from the signal controller: published as soon as it changes what the twin
        was last told (never waits)."""
        self.signals.update(state, self.clock())
        self._wake.set()

    def emit(self, event: Event) -> None:
        """Store an event durably in the outbox; it is sent as soon as the link can."""
        self.outbox.append(event, self.clock())
        self._wake.set()

    def forward_report(self, report: VehicleReport) -> None:
        """Queue an accepted vehicle report for the twin (sent with the next batch)."""
        if len(self._reports) < 10_000:
            self._reports.append(report)
        self._wake.set()

    # lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"cloudlink-{self.rsu_id}")

    async def stop(self) -> None:
        """Say OFFLINE (a clean stop), disconnect and close the store."""
        client = self._client
        if client is not None and self.stats.connected:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await client.publish(
                        topic(self.rsu_id, "status"),
                        self._status(RsuHealth.OFFLINE),
                        qos=1,
                        retain=True,
                    )
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.outbox.close()

    async def __aenter__(self) -> CloudLink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # the link ------------------------------------------------------------------------------

    def _status(self, health: RsuHealth | None = None) -> bytes:
        return codec_cloud.encode_status(
            RsuStatus(
                rsu_id=self.rsu_id,
                health=health or self.health,
                origin=self.origin,
                coverage_radius_m=self.config.coverage_radius_m,
                intersections=self.intersections,
                sensors=self._sensors,
                sent_at_ns=self.clock(),
                outbox_pending=self.outbox.pending(),
                zone_versions=self.zones.versions,
            )
        )

    async def _run(self) -> None:
        backoff = 0.1
        will = aiomqtt.Will(
            topic(self.rsu_id, "status"), self._status(RsuHealth.OFFLINE), qos=1, retain=True
        )
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=f"vicoop-rsu-{self.rsu_id}",
                    will=will,
                    keepalive=10,
                    clean_session=True,
                    timeout=5.0,
                ) as client:
                    self._client = client
                    self.stats.connected = True
                    self.stats.connections += 1
                    backoff = 0.1
                    log.info(
                        "cloud link of %s connected to %s:%d", self.rsu_id, self.host, self.port
                    )
                    await client.subscribe(topic(self.rsu_id, "commands"), qos=1)
                    await client.subscribe(topic(self.rsu_id, "receipts"), qos=1)
                    self.outbox.mark_all_unsent()
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._receive(client))
                        group.create_task(self._send(client))
            except* aiomqtt.MqttError as errors:
                log.warning("cloud link of %s lost: %s", self.rsu_id, errors.exceptions[0])
            finally:
                self._client = None
                self.stats.connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _send(self, client: aiomqtt.Client) -> None:
        status_every_ns = round(self.config.status_interval_s * NS_PER_S)
        resend_ns = round(self.config.resend_after_s * NS_PER_S)
        next_status = 0
        last_health: RsuHealth | None = None
        while True:
            now = self.clock()
            if now >= next_status or self.health is not last_health:
                await client.publish(
                    topic(self.rsu_id, "status"), self._status(), qos=1, retain=True
                )
                last_health = self.health
                signals = self.signals.due(now, every=now >= next_status)
                next_status = now + status_every_ns
            else:
                signals = self.signals.due(now)
            for signal in signals:
                await client.publish(
                    topic(self.rsu_id, "signal"), codec_cloud.encode_signal(signal), retain=True
                )
                self.stats.signals_sent += 1
            summary, self._summary = self._summary, None
            if summary is not None:
                await client.publish(
                    topic(self.rsu_id, "perception"), codec_cloud.encode_summary(summary)
                )
                self.stats.summaries_sent += 1
            reports, self._reports = self._reports, []
            if reports:
                await client.publish(
                    topic(self.rsu_id, "vehicles"), codec_cloud.encode_reports(self.rsu_id, reports)
                )
            due = self.outbox.due(self.clock(), resend_ns, limit=10)
            if due:
                # Publish the batch, then wait for every PUBACK together.
                await asyncio.gather(
                    *(client.publish(topic(self.rsu_id, "outbox"), p, qos=1) for _, p in due)
                )
                self.outbox.mark_sent([s for s, _ in due], self.clock())
                self.stats.outbox_sent += len(due)
                continue
            self._wake.clear()
            wait_s = min(1.0, self.config.resend_after_s)
            signal_due = self.signals.next_due_ns(self.clock())
            if signal_due is not None:
                wait_s = max(0.0, min(wait_s, (signal_due - self.clock()) / NS_PER_S))
            # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if not isinstance(payload, bytes | bytearray):
                self.stats.malformed_messages += 1
                continue
            kind = str(message.topic).rsplit("/", 1)[-1]
            try:
                if kind == "receipts":
                    self.stats.outbox_confirmed += self.outbox.confirm(
                        codec_cloud.decode_receipt(bytes(payload))
                    )
                elif kind == "commands":
                    self._apply_command(bytes(payload))
            except CodecError as exc:
                self.stats.malformed_messages += 1
                log.warning("ignored a malformed %s message: %s", kind, exc)
            except (aiomqtt.MqttError, asyncio.CancelledError):
                raise  # the connection's end: reconnect (or stop)
            except Exception:  # a bug handling one message must not end the link
                self.stats.handler_errors += 1
                log.exception("handling a %s message from the cloud failed", kind)

    def _apply_command(self, payload: bytes) -> None:
        from vicoop.cloudmodel import AckStatus

        command = codec_cloud.decode_command(payload)
        ack = self.zones.apply(command, self.clock())
        if ack.status is AckStatus.APPLIED:
            self.stats.commands_applied += 1
        elif ack.status is AckStatus.ALREADY_APPLIED:
            self.stats.commands_repeated += 1
        else:
            self.stats.commands_rejected += 1
        self.outbox.append(ack, self.clock())
        self._wake.set()
