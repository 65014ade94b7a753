"""Prometheus metrics: a collector that reads a daemon's own stats objects at scrape time, and a
small asyncio HTTP server for ``/metrics``.

A daemon keeps its counters where they are (``HubStats``, ``IngestStats``, ``SessionStats`` ...);
its metrics module (``roadside.metrics``, ``cloud.metrics``) lists them once in a function that
yields metric families, and ``StatsCollector`` calls that function on every scrape: no second
copy of any counter, and a new counter is one more line there. Each daemon has a registry of its
own, so several daemons in one process (tests, the demo, the rig) never share or clash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import Field

from vicoop.config import StrictModel
from vicoop.errors import StartupError

log = logging.getLogger(__name__)

K = TypeVar("K", bound=tuple[str, ...])


class MetricsConfig(StrictModel):
    """Where a daemon serves ``/metrics`` (Prometheus text format)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    # 0 picks a free port (the daemon logs the one it got); production configs name one.
    port: int = Field(0, ge=0, le=65535)


class StatsCollector(Collector):
    """Calls ``read()`` at every scrape; it yields the metric families of the moment."""

    def __init__(self, read: Callable[[], Iterable[Metric]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        return list(self._read())


def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    """A counter without labels; ``name`` without ``_total`` (the client adds it)."""
    return CounterMetricFamily(name, doc, value=value)


def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def labelled_counter(
    name: str, doc: str, labels: Iterable[str], values: Mapping[K, float]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=list(labels))
    for key, value in values.items():
        family.add_metric(list(key), value)
    return family


def labelled_gauge(
    name: str, doc: str, labels: Iterable[str], values: Mapping[K, float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for key, value in values.items():
        family.add_metric(list(key), value)
    return family


class MetricsServer:
    """Serves ``registry`` on ``GET /metrics`` (HTTP/1.0, one response a connection), in the
    daemon's event loop, so a scrape reads the stats between two of the loop's steps."""

    def __init__(self, registry: CollectorRegistry, host: str = "127.0.0.1", port: int = 0):
        self.registry = registry
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            raise StartupError(
                f"the metrics endpoint cannot listen on {self.host}:{self.port}: "
                f"{exc.strerror or exc}"
            ) from None
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
            parts = request.split(b"\r\n", 1)[0].split()
            if len(parts) >= 2 and parts[0] == b"GET" and parts[1].split(b"?")[0] == b"/metrics":
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest(self.registry)
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"only GET /metrics\n"
            head = (
                f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that sent no request or went away: nothing to answer
        except Exception:
            log.exception("serving a metrics scrape failed")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
