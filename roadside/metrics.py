"""The RSU daemon's Prometheus metrics (``vicoop_rsu_...``), read from its stats at scrape time.

``rsu_metrics(daemon)`` lists every counter the daemon keeps once; adding a counter to a stats
object is one more line in ``_families``. The fusion cycle time is the one metric measured here
rather than read: ``RsuMetrics.cycle_seconds`` is observed by the publish loop around each
snapshot. Served by ``vicoop.metrics.MetricsServer`` on ``config.metrics`` (host, port).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.metrics_core import Metric

from roadside.cloudlink import CloudLink
from roadside.ingest import IngestStats, SignalIngest
from vicoop.metrics import StatsCollector, counter, gauge, labelled_counter, labelled_gauge
from vicoop.model import NS_PER_S, SensorHealth, SensorStatus
from vicoop.serving import PerceptionHub, RoadsideServer
from vicoop.serving.reports import ReportBook
from vicoop.supervise import Supervisor


class RsuParts(Protocol):
    """What the metrics read of a ``roadside.daemon.RoadsideDaemon``."""

    hub: PerceptionHub
    server: RoadsideServer
    reports: ReportBook
    signal_input: SignalIngest | None
    link: CloudLink | None
    clock: Callable[[], int]
    ticks_missed: int
    publish_errors: int
    last_sensors: tuple[SensorStatus, ...]

    def sensor_stats(self) -> dict[str, IngestStats]: ...

    def supervisors(self) -> list[Supervisor]: ...


P = "vicoop_rsu_"
CYCLE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


class RsuMetrics:
    """One daemon's registry: its stats collector and the fusion cycle histogram."""

    def __init__(self, daemon: RsuParts) -> None:
        self.daemon = daemon
        self.registry = CollectorRegistry(auto_describe=False)
        self.cycle_seconds = Histogram(
            P + "fusion_cycle_seconds",
            "Time to take one snapshot of the frame source (fusion step and sensor health).",
            buckets=CYCLE_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(StatsCollector(self._families))

    def _families(self) -> Iterator[Metric]:
        d = self.daemon
        hub = d.hub.stats()
        yield counter(P + "frames_published", "Frames the publish loop made.", hub.frames_published)
        yield counter(
            P + "frames_delivered",
            "Frames sent to subscribers (all of them).",
            hub.frames_delivered,
        )
        yield counter(
            P + "frames_dropped",
            "Frames dropped from full subscriber queues (all subscribers, gone ones too).",
            hub.frames_dropped,
        )
        yield labelled_counter(
            P + "subscriber_frames_dropped",
            "Frames dropped from the queue of each connected subscriber.",
            ["subscriber", "client_id"],
            {(str(s.id), s.client_id): s.dropped for s in d.hub.subscribers()},
        )
        yield gauge(P + "subscribers", "Subscribers connected now.", hub.subscribers)
        yield counter(P + "subscriptions", "Subscriptions since start.", hub.subscriptions_total)
        yield counter(
            P + "subscriptions_rejected", "Subscribe requests refused.", d.server.rejected_requests
        )
        yield counter(P + "ticks_missed", "Publish ticks skipped by a late loop.", d.ticks_missed)
        yield counter(P + "publish_errors", "Ticks whose frame failed.", d.publish_errors)

        # Rejected input, by where it came from and why.
        rejected: dict[tuple[str, str], float] = {}
        accepted: dict[tuple[str], float] = {}
        for sensor_id, st in d.sensor_stats().items():
            accepted[(sensor_id,)] = st.accepted
            for reason, n in st.rejected.items():
                rejected[(f"sensor:{sensor_id}", reason)] = n
        for reason, n in d.reports.stats.rejected.items():
            rejected[("vehicle_report", reason)] = n
        if d.signal_input is not None:
            for reason, n in d.signal_input.stats.rejected.items():
                rejected[("signal_controller", reason)] = n
        if d.link is not None:
            session = d.link.session.stats
            rejected[("mqtt", "malformed")] = session.malformed
            rejected[("mqtt", "handler_error")] = session.handler_errors
        yield labelled_counter(
            P + "inputs_rejected",
            "Inputs rejected, by input and reason.",
            ["input", "reason"],
            rejected,
        )
        yield labelled_counter(
            P + "sensor_cycles_accepted",
            "Sensor cycles accepted, per sensor.",
            ["sensor"],
            accepted,
        )
        yield labelled_gauge(
            P + "sensor_health",
            "Each sensor's health at the last frame (1 OK, 2 DEGRADED, 3 SILENT).",
            ["sensor", "kind"],
            {(s.sensor_id, s.kind.name.lower()): int(s.health) for s in d.last_sensors},
        )
        yield labelled_gauge(
            P + "sensor_up",
            "1 when the sensor was OK at the last frame, else 0.",
            ["sensor"],
            {(s.sensor_id,): float(s.health == SensorHealth.OK) for s in d.last_sensors},
        )
        yield counter(P + "vehicle_reports_accepted", "Reports accepted.", d.reports.stats.accepted)
        if d.signal_input is not None:
            yield counter(
                P + "signal_states_accepted",
                "Signal controller states accepted.",
                d.signal_input.stats.accepted,
            )
        if d.link is not None:
            link = d.link
            session = link.session.stats
            yield gauge(P + "cloud_connected", "1 while the MQTT link is up.", session.connected)
            yield counter(P + "cloud_connections", "MQTT connections made.", session.connections)
            yield counter(P + "cloud_summaries_sent", "Summaries sent.", link.stats.summaries_sent)
            yield counter(P + "cloud_outbox_sent", "Outbox sends.", link.stats.outbox_sent)
            yield counter(
                P + "cloud_outbox_confirmed",
                "Outbox messages confirmed.",
                link.stats.outbox_confirmed,
            )
            yield gauge(
                P + "outbox_depth", "Outbox messages awaiting receipt.", link.outbox.pending()
            )
            yield labelled_counter(
                P + "outbox_dropped",
                "Outbox messages displaced by a full outbox (cloud.max_outbox_messages), by kind.",
                ["kind"],
                {(kind,): n for kind, n in link.stats.outbox_dropped.items()},
            )
            oldest = link.outbox.oldest_pending_ns()
            age = 0.0 if oldest is None else max(0, d.clock() - oldest) / NS_PER_S
            yield gauge(
                P + "outbox_oldest_age_seconds", "Age of the oldest message awaiting receipt.", age
            )
        yield from task_families(P, d.supervisors())


def task_families(prefix: str, supervisors: list[Supervisor]) -> Iterator[Metric]:
    """Supervised tasks' restarts, failures and early returns, labelled by owner and task."""
    restarts: dict[tuple[str, str], float] = {}
    failures: dict[tuple[str, str], float] = {}
    running: dict[tuple[str, str], float] = {}
    for sup in supervisors:
        for name, st in sup.stats.items():
            key = (sup.owner, name)
            restarts[key] = st.restarts
            failures[key] = st.failures + st.early_returns
            running[key] = float(st.running)
    labels = ["owner", "task"]
    yield labelled_counter(prefix + "task_restarts", "Supervised task restarts.", labels, restarts)
    yield labelled_counter(
        prefix + "task_failures",
        "Supervised task ends (exception or early return).",
        labels,
        failures,
    )
    yield labelled_gauge(prefix + "task_running", "1 while the task runs.", labels, running)
