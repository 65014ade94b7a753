"""The twin's Prometheus metrics (``vicoop_twin_...``), read from its parts at scrape time, and
the API latency histogram (``vicoop_twin_api_request_duration_seconds``, per route).

``TwinMetrics.registry`` is served by the API on ``GET /metrics``, behind a viewer's bearer token
like the rest of the API (Prometheus sends it: ``authorization`` in its scrape config). Adding a
counter to a stats object is one more line in ``_families``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import Response

from cloud.alarms import Alarms
from cloud.feed import Feed
from cloud.ingest import TwinIngest
from cloud.leader import Leadership
from cloud.snapshots import Snapshots
from cloud.twin import Twin
from cloud.zones import ZoneManager
from vicoop.metrics import StatsCollector, counter, gauge, labelled_counter

P = "vicoop_twin_"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class TwinMetrics:
    """One twin worker's registry."""

    def __init__(
        self,
        twin: Twin,
        zones: ZoneManager,
        ingest: TwinIngest,
        feed: Feed,
        snapshots: Snapshots,
        leadership: Leadership | None = None,
        *,
        alarms: Alarms | None = None,
    ) -> None:
        self.twin = twin
        self.zones = zones
        self.ingest = ingest
        self.feed = feed
        self.snapshots = snapshots
        self.leadership = leadership
        self.alarms = alarms
        self.registry = CollectorRegistry(auto_describe=False)
        self.request_seconds = Histogram(
            P + "api_request_duration_seconds",
            "Control API requests, by route template, method and status code.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.summary_lag_seconds = Histogram(
            P + "summary_lag_seconds",
            "Publish -> applied lag of every perception summary (RSU clock to twin clock).",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        ingest.lag_observers.append(self.summary_lag_seconds.observe)
        self.registry.register(StatsCollector(self._families))

    def _families(self) -> Iterator[Metric]:
        c = self.twin.counters
        session = self.ingest.session.stats
        yield counter(P + "messages_ingested", "MQTT messages received.", session.messages)
        yield labelled_counter(
            P + "applied",
            "Messages applied to the twin, by kind.",
            ["kind"],
            {
                ("status",): c.statuses,
                ("summary",): c.summaries,
                ("signal",): c.signals,
                ("vehicle_report",): c.reports,
                ("event",): c.events,
                ("ack",): c.acks,
            },
        )
        yield counter(
            P + "duplicates_discarded", "Outbox messages seen before.", c.duplicates_discarded
        )
        yield labelled_counter(
            P + "inputs_rejected",
            "MQTT messages rejected, by reason.",
            ["reason"],
            {("malformed",): session.malformed, ("handler_error",): session.handler_errors},
        )
        yield gauge(
            P + "mqtt_connected", "1 while the twin's MQTT session is up.", session.connected
        )
        yield counter(P + "mqtt_connections", "MQTT connections made.", session.connections)
        yield gauge(
            P + "rsus_online",
            "RSUs online now.",
            sum(1 for r in self.twin.rsus.values() if r.online),
        )
        yield gauge(P + "rsus_known", "RSUs ever heard from.", len(self.twin.rsus))
        yield counter(P + "rsus_went_offline", "RSUs that went offline.", c.went_offline)
        yield gauge(
            P + "commands_pending", "Zone commands awaiting acks.", len(self.zones.pending())
        )
        yield gauge(
            P + "leader",
            "1 while this worker is the one that sends zone commands.",
            self.leadership is None or self.leadership.leader,
        )
        yield counter(P + "commands_sent", "Zone commands sent.", self.ingest.commands_sent)
        yield gauge(P + "feed_subscribers", "Live feed subscribers.", len(self.feed.subscribers))
        yield counter(P + "feed_errors", "Live feed snapshots that failed.", self.snapshots.errors)
        if self.alarms is not None:
            yield labelled_counter(
                P + "alarms",
                "Supervised tasks that failed or ended (restarted), by source and task.",
                ["source", "task"],
                dict(self.alarms.counts),
            )
        recent = list(itertools.islice(reversed(self.ingest.lag_ns), 1000))
        yield gauge(
            P + "ingest_lag_seconds",
            "Largest publish-to-applied lag of the latest 1000 summaries.",
            max(recent) / 1e9 if recent else 0.0,
        )

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Times each request under its route's template (``other`` for no route)."""
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "other")
            self.request_seconds.labels(path, request.method, str(status)).observe(
                time.perf_counter() - start
            )
