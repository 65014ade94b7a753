"""The RSU daemon: a frame source, the publish loop, the gRPC server and (when configured) the
cloud link, with clean shutdown.

Each published frame's tracks carry the ids of the connected vehicles whose reports matched them;
the cloud link gets every frame (summaries, zone monitor) and every accepted report, and the
zones it holds are streamed to vehicles. With ``cloud.signals.source: controller`` the daemon
listens for the signal controller's states (``roadside.ingest.signal``, UDP) and hands them to
the cloud link.

``vicoop rsu run --config rsu.yaml`` runs it until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

from roadside.cloudlink import CloudLink
from roadside.config import RsuConfig
from roadside.controllers import build_adapter
from roadside.errors import StorageFull
from roadside.ingest import IngestStats, JsonSignalDecoder, SignalIngest, UdpEndpoint
from roadside.metrics import RsuMetrics
from roadside.sources import FrameSource, build_source
from roadside.spat.live import LiveSpat
from roadside.vehicleauth import CredentialAuthenticator
from vicoop import logs
from vicoop.cloudmodel import Event, EventKind, VehicleReport
from vicoop.errors import StartupError
from vicoop.heap import freeze_startup_heap
from vicoop.metrics import MetricsServer
from vicoop.model import NS_PER_S, PerceptionFrame, SensorStatus
from vicoop.serving import PerceptionHub, RoadsideServer, SiteInfo, ZoneFeed
from vicoop.serving.errors import Unavailable
from vicoop.serving.reports import RejectionNotices, ReportBook, ReportRejected
from vicoop.serving.spatfeed import SpatFeed
from vicoop.signing import load_public_key
from vicoop.supervise import Supervisor

log = logging.getLogger(__name__)

Clock = Callable[[], int]


class RoadsideDaemon:
    """One RSU site: publishes ``source``'s snapshots at ``config.publish.rate_hz``.

    ``clock`` returns ns since the Unix epoch; it is read by the publish loop only, and passed to
    the source as each tick's time. ``stepped`` runs no publish loop: whoever drives the daemon
    (the HIL rig in lock-step with a simulator) calls ``publish_at(tick_ns)`` for each tick.
    """

    def __init__(
        self,
        config: RsuConfig,
        source: FrameSource | None = None,
        clock: Clock = time.time_ns,
        *,
        stepped: bool = False,
    ) -> None:
        self.config = config
        self.stepped = stepped
        self.source = source if source is not None else build_source(config.source, clock)
        self.clock = clock
        self.hub = PerceptionHub(
            config.publish.rate_hz,
            queue_frames=config.server.queue_frames,
            max_subscribers=config.server.max_subscribers,
        )
        origin = config.origin.to_model()
        self.reports = ReportBook(origin, config.reports.to_limits())
        self.link: CloudLink | None = None
        if config.cloud.enabled:
            self.link = CloudLink(config.cloud, config.rsu_id, origin, clock=clock)
        # The signal controller's input: only with a cloud link to publish its states on.
        self.signal_input: SignalIngest | None = None
        self._signal_endpoint: UdpEndpoint | None = None
        signals = config.cloud.signals
        if self.link is not None and signals.source == "controller":
            self.signal_input = SignalIngest(
                JsonSignalDecoder(
                    config.rsu_id, [i.intersection_id for i in config.cloud.intersections]
                ),
                self.link.on_signal,
            )
            self._signal_endpoint = UdpEndpoint(self.signal_input, signals.host, signals.port)
        elif signals.source == "controller":
            log.warning("cloud.signals.source is controller but the cloud link is off: no input")
        self.zones = ZoneFeed(self.link.zones.zone_set if self.link is not None else None)
        if self.link is not None:
            self.link.zones.listeners.append(self.zones.set)
        # SPaT of the intersections whose controllers are configured (StreamSpat).
        controllers = config.spat.controllers
        maps = config.map.models()
        self.last_frame: PerceptionFrame | None = None
        self.spat_feed = SpatFeed(config.rsu_id, [c.intersection_id for c in controllers])
        self.spat: LiveSpat | None = None
        self._started = False  # start() has finished (and stop() not begun)
        if controllers:
            self.spat = LiveSpat(
                [build_adapter(c, clock) for c in controllers],
                self.spat_feed,
                clock,
                poll_hz=config.spat.poll_hz,
                refresh_hz=config.spat.refresh_hz,
                program_refresh_s=config.spat.program_refresh_s,
                supervisor_config=config.supervisor,
                on_supervisor=self.link.plans.add if self.link is not None else lambda s: None,
                events_per_group=config.spat.events_per_group,
                maps={m.intersection_id: m for m in maps},
                frame=lambda: self.last_frame,
            )
        if self.link is not None and (controllers or maps):
            self.link.relay_intersections(self.spat_feed, maps)
        self.server = RoadsideServer(
            self.hub,
            SiteInfo(config.rsu_id, origin, config.publish.rate_hz),
            host=config.server.host,
            port=config.server.port,
            reflection_enabled=config.server.reflection,
            tls=config.server.tls,
            limits=config.server.to_limits(),
            zones=self.zones,
            spat=self.spat_feed,
            maps=maps,
            reports=self.reports,
            on_report=self.link.forward_report if self.link is not None else None,
            on_rejected=self._report_rejected if self.link is not None else None,
            authenticator=CredentialAuthenticator(
                {
                    k.key_id: load_public_key(k.public_key_file, f"cloud.command_keys[{i}]")
                    for i, k in enumerate(config.cloud.command_keys)
                },
                certificates=config.server.tls is not None
                and config.server.tls.client_ca_file is not None,
                required=config.reports.require_vehicle_identity,
            ),
            clock=clock,
        )
        self.rejection_notices = RejectionNotices()
        self.sequence = 0
        self.ticks_missed = 0
        self.publish_errors = 0
        self.last_sensors: tuple[SensorStatus, ...] = ()
        self._loop_task: asyncio.Task[None] | None = None
        self.metrics = RsuMetrics(self)
        self.metrics_server: MetricsServer | None = None
        if config.metrics.enabled:
            self.metrics_server = MetricsServer(
                self.metrics.registry, config.metrics.host, config.metrics.port
            )
        self.supervisor = Supervisor(f"rsu-{config.rsu_id}", on_failure=self._task_failed)

    @property
    def target(self) -> str:
        return self.server.target

    def _task_failed(self, name: str, error: BaseException | None) -> None:
        """A background task died (the supervisor has logged it and restarts it): the RSU
        reports itself degraded to the twin until the next frame says otherwise, and the twin
        stores it as an alarm (an event through the outbox)."""
        if self.link is not None:
            self.link.task_failed(name, error)

    @property
    def signal_port(self) -> int | None:
        """The UDP port the signal controller input listens on (None: no such input)."""
        return self._signal_endpoint.port if self._signal_endpoint is not None else None

    def sensor_stats(self) -> dict[str, IngestStats]:
        """Each sensor input's counters (none for sources without sensors)."""
        read = getattr(self.source, "ingest_stats", None)
        return read() if callable(read) else {}

    def supervisors(self) -> list[Supervisor]:
        """Every supervisor of the daemon's background tasks (their ``stats`` are its task
        failures and restarts): the publish loop's, the cloud link session's, and any other
        part's that has one."""
        session = self.link.session if self.link is not None else None
        parts: list[object] = [self, self.source, session, self.server]
        found = (getattr(p, "supervisor", None) for p in parts if p is not None)
        return [s for s in found if isinstance(s, Supervisor)]

    async def start(self) -> None:
        """Open every input, the cloud link and the server; when one cannot start (a
        ``StartupError`` naming it), close what had opened and raise."""
        async with contextlib.AsyncExitStack() as opened:
            await self.source.start()  # sources that own sockets or buses open them here
            opened.push_async_callback(self.source.stop)
            if self.link is not None:
                await self.link.start()
                opened.push_async_callback(self.link.stop)
            if self._signal_endpoint is not None:
                try:
                    await self._signal_endpoint.start()
                except StartupError as exc:
                    raise StartupError(f"cloud.signals (the controller input): {exc}") from None
                opened.push_async_callback(self._signal_endpoint.stop)
                log.info(
                    "signal controller input of %s on udp %s:%d",
                    self.config.rsu_id,
                    self._signal_endpoint.host,
                    self._signal_endpoint.port,
                )
            if self.spat is not None:
                try:
                    await self.spat.start()
                except StartupError as exc:
                    raise StartupError(f"spat.controllers: {exc}") from None
                opened.push_async_callback(self.spat.stop)
            await self.server.start()
            opened.push_async_callback(self.server.stop, 0)
            if self.metrics_server is not None:
                await self.metrics_server.start()
                log.info("RSU %s metrics on %s", self.config.rsu_id, self.metrics_server.url)
            opened.pop_all()
        self._started = True
        if not self.stepped:
            self.supervisor.spawn("publish-loop", self._publish_loop)
            if self.spat is not None:
                self.supervisor.spawn("spat", self.spat.run)

    async def stop(self) -> None:
        self._started = False
        await self.supervisor.stop()
        await self.server.stop(self.config.server.grace_period_s)
        if self._signal_endpoint is not None:
            await self._signal_endpoint.stop()
        if self.spat is not None:
            await self.spat.stop()
        if self.link is not None:
            await self.link.stop()
        await self.source.stop()
        if self.metrics_server is not None:
            await self.metrics_server.stop()

    async def __aenter__(self) -> RoadsideDaemon:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _report_rejected(self, report: VehicleReport, rejection: ReportRejected) -> None:
        """A rejected report becomes an event for the twin, as ``RejectionNotices`` allows (at
        most one a minute per vehicle id and reason, and a few a minute per reason)."""
        now = self.clock()
        notice = None
        if self.link is not None:
            notice = self.rejection_notices.due(report.vehicle_id, rejection.kind, now)
        if self.link is None or notice is None:
            return
        more = f" ({notice.suppressed} more not announced)" if notice.suppressed else ""
        try:
            self.link.emit(
                Event(
                    EventKind.VEHICLE_REPORT_REJECTED,
                    now,
                    vehicle_id=report.vehicle_id,
                    detail=f"{rejection.kind}: {rejection}{more}",
                )
            )
        except StorageFull as exc:
            raise Unavailable(str(exc)) from None

    def publish_at(self, tick_ns: int) -> PerceptionFrame:
        """Take the source's snapshot for ``tick_ns`` and publish it; returns the frame."""
        with self.metrics.cycle_seconds.time():
            snapshot = self.source.snapshot(tick_ns)
        self.last_sensors = snapshot.sensors
        self.sequence += 1
        frame = PerceptionFrame(
            rsu_id=self.config.rsu_id,
            sequence=self.sequence,
            valid_at_ns=tick_ns,
            published_at_ns=self.clock(),
            origin=self.server.site.origin,
            objects=self.reports.associate(snapshot.objects, tick_ns),
            sensors=snapshot.sensors,
        )
        self.hub.publish(frame)
        self.last_frame = frame
        if self.link is not None:
            self.link.on_frame(frame, self.reports.permits())
        return frame

    async def spat_at(self, tick_ns: int) -> int | None:
        """Stepped: read each signal controller once and publish the SPaT due at ``tick_ns``
        (``LiveSpat.poll``; the adapters stamp their readings with the daemon's clock, which
        the driver keeps at ``tick_ns``). The SPaT feed's sequence, or None when nothing was
        due, the RSU has no controllers or is not started (its controllers not open)."""
        if self.spat is None or not self._started:
            return None
        return await self.spat.poll(tick_ns)

    async def _publish_loop(self) -> None:
        period_ns = round(NS_PER_S / self.config.publish.rate_hz)
        # Ticks sit on a fixed grid (multiples of the period), so they never drift.
        tick = -(-self.clock() // period_ns) * period_ns
        stats_every_ns = round(self.config.publish.stats_log_interval_s * NS_PER_S)
        next_stats_ns = tick + stats_every_ns
        while True:
            delay_ns = tick - self.clock()
            if delay_ns > 0:
                await asyncio.sleep(delay_ns / NS_PER_S)
            late_ticks = (self.clock() - tick) // period_ns
            if late_ticks > 0:
                self.ticks_missed += late_ticks
                tick += late_ticks * period_ns
                log.warning("publish loop fell %d ticks behind; skipped them", late_ticks)
            try:
                self.publish_at(tick)
            except Exception:  # a source bug must not take the RSU down; it is logged each tick
                self.publish_errors += 1
                log.exception("publishing the frame for %d failed", tick)
            if tick >= next_stats_ns:
                self._log_stats()
                next_stats_ns = tick + stats_every_ns
            tick += period_ns

    def _log_stats(self) -> None:
        stats = self.hub.stats()
        log.info(
            "subscribers %d (%d since start), frames published %d, delivered %d, dropped %d, "
            "ticks missed %d, subscriptions rejected %d, vehicle reports accepted %d, "
            "rejected %s",
            stats.subscribers,
            stats.subscriptions_total,
            stats.frames_published,
            stats.frames_delivered,
            stats.frames_dropped,
            self.ticks_missed,
            self.server.rejected_requests,
            self.reports.stats.accepted,
            dict(self.reports.stats.rejected) or 0,
        )
        if self.signal_input is not None:
            log.info(
                "signal controller states accepted %d, rejected %s",
                self.signal_input.stats.accepted,
                dict(self.signal_input.stats.rejected) or 0,
            )


async def serve(
    config: RsuConfig,
    stop: asyncio.Event | None = None,
    on_started: Callable[[RoadsideDaemon], None] | None = None,
) -> None:
    """Run an RSU until SIGTERM/SIGINT (or until ``stop`` is set), then shut down gracefully.
    SIGHUP reads the gRPC server's TLS certificates again. ``on_started`` is called with the
    running daemon."""
    logs.bind(rsu_id=config.rsu_id)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with RoadsideDaemon(config) as daemon:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, daemon.server.reload_tls)
        if on_started is not None:
            on_started(daemon)
        log.info(
            "RSU %s publishing at %.1f Hz on %s",
            config.rsu_id,
            config.publish.rate_hz,
            daemon.target,
        )
        log.debug("froze %d start-up objects out of the collector's way", freeze_startup_heap())
        await stop.wait()
        log.info("stopping (grace period %.1f s)", config.server.grace_period_s)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(sig)
