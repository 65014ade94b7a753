"""The RSU's side of the RSU <-> cloud link over MQTT (aiomqtt), protobuf payloads.

Topics and the connection are ``vicoop.mqtt``'s (``Topic``, ``MqttSession``). The status is
retained, with a retained last will saying OFFLINE, so the twin sees the RSU drop. Events and
acknowledgements go through the on-disk ``Outbox`` and are sent again until the cloud's receipt
names them: nothing is lost across a broker outage or an RSU restart, and the twin applies each
sequence number once.
Commands are applied by the ``ZoneBook`` (zones) and the ``SignalPlanBook`` (signal commands,
each through its intersection's safety supervisor: a refusal is also a
``SIGNAL_COMMAND_REFUSED`` event), idempotently, and acknowledged through the outbox. The
supervisors are told when the link goes up or down (down: the site's own programs).
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
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiomqtt

from roadside.cloudlink.config import CloudLinkConfig
from roadside.cloudlink.monitor import ZoneMonitor
from roadside.cloudlink.outbox import Outbox
from roadside.cloudlink.signalplans import SignalPlanBook
from roadside.cloudlink.signals import SignalBook
from roadside.cloudlink.spat import SpatRelay
from roadside.cloudlink.summary import approach_measures
from roadside.cloudlink.zonebook import ZoneBook, ZoneLimits
from roadside.errors import StorageFull
from vicoop import codec_cloud
from vicoop.backoff import Backoff
from vicoop.cloudmodel import (
    AckStatus,
    CommandAck,
    Event,
    EventKind,
    Intersection,
    PerceptionSummary,
    RsuHealth,
    RsuStatus,
    SignalState,
    VehicleReport,
)
from vicoop.errors import CodecError
from vicoop.intersection import IntersectionMap
from vicoop.model import NS_PER_S, GeodeticOrigin, PerceptionFrame, SensorHealth, SensorStatus
from vicoop.mqtt import MqttSession, Topic, TopicKind, parse_mqtt_url
from vicoop.serving.spatfeed import SpatFeed
from vicoop.signalplan import SignalCommand

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LinkStats:
    """What the link has sent and applied (the connection's own counters: ``session.stats``)."""

    summaries_sent: int = 0
    signals_sent: int = 0
    spat_sent: int = 0
    maps_sent: int = 0
    outbox_sent: int = 0
    outbox_confirmed: int = 0
    commands_applied: int = 0
    commands_repeated: int = 0
    commands_rejected: int = 0
    # Refused for a full disk: zone events not stored, commands not acknowledged (the twin
    # sends them again).
    events_refused: int = 0
    commands_refused: int = 0
    receipts_refused: int = 0
    # Displaced by a full outbox (``max_outbox_messages``), by kind name (events' kinds in lower
    # case, ``command_ack``); reported to the twin in OUTBOX_OVERFLOW events.
    outbox_dropped: Counter[str] = field(default_factory=Counter)


class CloudLink:
    """One RSU's link; ``start()``/``stop()`` own its MQTT session, which reconnects by itself."""

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
        self.outbox = Outbox(config.outbox_path, rsu_id, config.max_outbox_messages)
        self.zones = ZoneBook(
            self.outbox,
            ZoneLimits(config.max_zones, config.max_vertices_per_zone, config.max_total_vertices),
        )
        self.monitor = ZoneMonitor()
        # The daemon adds a safety supervisor per intersection whose controller takes commands.
        self.plans = SignalPlanBook()
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
        self.stats = LinkStats(outbox_dropped=self.outbox.dropped)
        # Per message: resend_after_s, then twice as long each time, at most resend_max_s.
        self.resend = Backoff(
            initial_s=config.resend_after_s,
            factor=2.0,
            max_s=max(config.resend_max_s, config.resend_after_s),
            jitter=0.2,
        )
        self._rng = random.Random()
        self.health = RsuHealth.OK
        # DEGRADED until then at least (a task failed): the frames' sensor health cannot clear it.
        self._degraded_until_ns = 0
        self._degraded_hold_ns = round(config.degraded_after_task_failure_s * NS_PER_S)
        self._summary: PerceptionSummary | None = None
        self._reports: list[VehicleReport] = []
        self._wake = asyncio.Event()
        # The SPaT and MAP of the RSU's intersections (``relay_intersections``), for the twin.
        self._spat_feed: SpatFeed | None = None
        self._maps: tuple[IntersectionMap, ...] = ()
        self.spat_relay = SpatRelay()
        self._summary_interval_ns = round(NS_PER_S / config.summary_rate_hz)
        self._next_summary_ns = 0
        self._sensors: tuple[SensorStatus, ...] = ()
        self.session = MqttSession(
            parse_mqtt_url(config.mqtt_url),
            f"vicoop-rsu-{rsu_id}",
            subscribe=[
                str(self._topic(TopicKind.COMMANDS)),
                str(self._topic(TopicKind.RECEIPTS)),
            ],
            on_message=self._on_message,
            while_connected=self._send,
            will=aiomqtt.Will(
                str(self._topic(TopicKind.STATUS)),
                self._status(RsuHealth.OFFLINE),
                qos=1,
                retain=True,
            ),
            clean_session=True,
            on_task_failure=lambda name, error: self.task_failed(f"cloud-link {name}", error),
        )

    # the RSU's side ------------------------------------------------------------------------

    def on_frame(self, frame: PerceptionFrame, permits: Mapping[str, str] | None = None) -> None:
        """Called for every published frame: zone violations become events; a summary is queued
        at the configured rate (latest wins). ``permits``: reporting vehicles' ids -> the
        automated-driving permit each reported."""
        for event in self.monitor.check(frame, self.zones.zone_set, frame.valid_at_ns, permits):
            try:
                self.emit(event)
            except StorageFull as exc:
                self.stats.events_refused += 1
                if self.stats.events_refused == 1 or self.stats.events_refused % 1000 == 0:
                    log.error("%s (%d events refused)", exc, self.stats.events_refused)
        self._sensors = frame.sensors
        sensors_ok = all(
            s.health in (SensorHealth.OK, SensorHealth.UNSPECIFIED) for s in frame.sensors
        )
        held = self.clock() < self._degraded_until_ns
        health = RsuHealth.OK if sensors_ok and not held else RsuHealth.DEGRADED
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

    def task_failed(self, name: str, error: BaseException | None) -> None:
        """A supervised task of the RSU failed or ended (its supervisor has logged it and
        restarts it): the RSU shows DEGRADED, and a ``TASK_FAILED`` event goes through the
        outbox so the twin stores it as an alarm."""
        what = "ended unexpectedly" if error is None else f"{type(error).__name__}: {error}"
        self.set_degraded(f"task {name} failed: {what}")
        try:
            self.emit(Event(EventKind.TASK_FAILED, self.clock(), detail=f"{name}: {what}"))
        except StorageFull as exc:
            self.stats.events_refused += 1
            log.error("the failure of task %s is not reported to the twin: %s", name, exc)

    def set_degraded(self, why: str) -> None:
        """Report the RSU DEGRADED to the twin now and for ``degraded_after_task_failure_s``
        (a task of the daemon failed: ``why``)."""
        log.error("%s degraded: %s", self.rsu_id, why)
        self._degraded_until_ns = self.clock() + self._degraded_hold_ns
        self.health = RsuHealth.DEGRADED
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
        await self.session.start()

    async def stop(self) -> None:
        """Say OFFLINE (a clean stop), disconnect and close the store."""
        if self.session.stats.connected:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.session.publish(
                        self._topic(TopicKind.STATUS),
                        self._status(RsuHealth.OFFLINE),
                        qos=1,
                        retain=True,
                    )
        await self.session.stop()
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

    def relay_intersections(self, spat: SpatFeed, maps: tuple[IntersectionMap, ...]) -> None:
        """Send the twin the SPaT ``spat`` carries (at every change, and every second) and the
        ``maps`` (retained, at every connection)."""
        self._spat_feed, self._maps = spat, maps
        spat.listeners.append(self._wake.set)

    def _topic(self, kind: TopicKind) -> Topic:
        return Topic(self.rsu_id, kind)

    async def _send(self) -> None:
        """The sender, run while connected. What was sent on an earlier connection may not
        have arrived: the outbox sends it all again."""
        self.outbox.mark_all_unsent()
        self.plans.link(True, self.clock())
        try:
            await self._send_while_connected()
        finally:
            self.plans.link(False, self.clock())

    async def _send_while_connected(self) -> None:
        status_every_ns = round(self.config.status_interval_s * NS_PER_S)
        next_status = 0
        last_health: RsuHealth | None = None
        map_due = bool(self._maps)  # after the first status: the twin then knows the origin
        while True:
            now = self.clock()
            if now >= next_status or self.health is not last_health:
                if self.outbox.report_drops(now) is not None:
                    log.warning("%s: outbox overflow reported to the twin", self.rsu_id)
                await self.session.publish(
                    self._topic(TopicKind.STATUS), self._status(), qos=1, retain=True
                )
                last_health = self.health
                if map_due:
                    await self.session.publish(
                        self._topic(TopicKind.MAP),
                        codec_cloud.encode_rsu_map(self.rsu_id, list(self._maps)),
                        qos=1,
                        retain=True,
                    )
                    self.stats.maps_sent += 1
                    map_due = False
                signals = self.signals.due(now, every=now >= next_status)
                next_status = now + status_every_ns
            else:
                signals = self.signals.due(now)
            for signal in signals:
                await self.session.publish(
                    self._topic(TopicKind.SIGNAL), codec_cloud.encode_signal(signal), retain=True
                )
                self.stats.signals_sent += 1
            feed = self._spat_feed
            spats = self.spat_relay.due(feed.latest, now) if feed is not None else None
            if spats is not None:
                await self.session.publish(
                    self._topic(TopicKind.SPAT),
                    codec_cloud.encode_rsu_spat(self.rsu_id, now, spats),
                )
                self.stats.spat_sent += 1
            summary, self._summary = self._summary, None
            if summary is not None:
                await self.session.publish(
                    self._topic(TopicKind.PERCEPTION), codec_cloud.encode_summary(summary)
                )
                self.stats.summaries_sent += 1
            reports, self._reports = self._reports, []
            if reports:
                await self.session.publish(
                    self._topic(TopicKind.VEHICLES),
                    codec_cloud.encode_reports(self.rsu_id, reports),
                )
            due = self.outbox.due(self.clock(), limit=10)
            if due:
                # Publish the batch, then wait for every PUBACK together.
                outbox = self._topic(TopicKind.OUTBOX)
                await asyncio.gather(*(self.session.publish(outbox, p, qos=1) for _, p, _ in due))
                sent_at = self.clock()
                self.outbox.mark_sent(
                    [
                        (s, sent_at + round(self.resend.delay(sends, self._rng) * NS_PER_S))
                        for s, _, sends in due
                    ],
                    sent_at,
                )
                self.stats.outbox_sent += len(due)
                continue
            self._wake.clear()
            wait_s = min(1.0, self.config.resend_after_s)
            for due_ns in (self.signals.next_due_ns(self.clock()), self.spat_relay.next_due_ns()):
                if due_ns is not None:
                    wait_s = max(0.0, min(wait_s, (due_ns - self.clock()) / NS_PER_S))
            # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()

    async def _on_message(self, topic: Topic, payload: bytes) -> None:
        """A message from the cloud (``CodecError`` when malformed: the session counts it)."""
        if topic.kind is TopicKind.RECEIPTS:
            try:
                self.stats.outbox_confirmed += self.outbox.confirm(
                    codec_cloud.decode_receipt(payload)
                )
            except StorageFull as exc:
                self.stats.receipts_refused += 1
                if self.stats.receipts_refused == 1 or self.stats.receipts_refused % 1000 == 0:
                    log.error("%s (%d receipts refused)", exc, self.stats.receipts_refused)
        elif topic.kind is TopicKind.COMMANDS:
            try:
                self._apply_command(payload)
            except StorageFull as exc:
                self.stats.commands_refused += 1
                log.error("a zone command is refused: %s", exc)

    def _apply_command(self, payload: bytes) -> None:
        try:
            command = codec_cloud.decode_command(payload)
        except CodecError as exc:
            # Say which command was refused and why, when it says who it is; the session
            # counts and logs it as malformed.
            command_id = codec_cloud.command_id_of(payload)
            if command_id is not None:
                self.stats.commands_rejected += 1
                self.outbox.append(
                    CommandAck(command_id, 0, AckStatus.REJECTED, str(exc), self.clock()),
                    self.clock(),
                )
                self._wake.set()
            raise
        if isinstance(command.body, SignalCommand):
            ack, event = self.plans.apply(command, self.clock())
            if event is not None:
                self.emit(event)
        else:
            ack = self.zones.apply(command, self.clock())
        if ack.status is AckStatus.APPLIED:
            self.stats.commands_applied += 1
        elif ack.status is AckStatus.ALREADY_APPLIED:
            self.stats.commands_repeated += 1
        else:
            self.stats.commands_rejected += 1
        self.outbox.append(ack, self.clock())
        self._wake.set()
