"""A blocking wrapper of ``RoadsideClient`` for code that is not async.

::

    with SyncRoadsideClient("127.0.0.1:50051") as rsu:
        for frame in rsu.perception(classes={ObjectClass.CAR}):
            ...

The asyncio client runs on an event loop in a background thread owned by the wrapper.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from vehicle.client import (
    PerceptionStream,
    ReporterStats,
    ReportSummary,
    RoadsideClient,
    StateReporter,
    StreamStats,
    ZoneStream,
    ZoneStreamStats,
)
from vehicle.zones import PilotZones
from vicoop.cloudmodel import VehicleReport
from vicoop.model import ObjectClass, PerceptionFrame, RegionOfInterest, SiteInfo

T = TypeVar("T")
S = TypeVar("S")


class _SyncStream(Generic[S, T]):
    """An async stream ``S`` of ``T`` iterated with a plain ``for``; ``close()`` ends it."""

    def __init__(self, owner: SyncRoadsideClient, stream: S, timeout_s: float | None) -> None:
        self._owner = owner
        self._stream = stream
        self._iterator: AsyncIterator[T] = stream.__aiter__()  # type: ignore[attr-defined]
        self._timeout_s = timeout_s

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        try:
            return self._owner._call(self._iterator.__anext__(), self._timeout_s)
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._owner._call(self._iterator.aclose(), None)  # type: ignore[attr-defined]


class SyncPerceptionStream(_SyncStream[PerceptionStream, PerceptionFrame]):
    """A perception stream iterated with a plain ``for``; ``close()`` ends it."""

    @property
    def stats(self) -> StreamStats:
        return self._stream.stats


class SyncZoneStream(_SyncStream[ZoneStream, PilotZones]):
    """A zone stream iterated with a plain ``for``; ``close()`` ends it."""

    @property
    def stats(self) -> ZoneStreamStats:
        return self._stream.stats

    @property
    def latest(self) -> PilotZones | None:
        return self._stream.latest


class SyncStateReporter:
    """``StateReporter`` for blocking code: ``send`` queues without waiting; ``close`` returns
    the stats with the RSU's counts."""

    def __init__(self, owner: SyncRoadsideClient, reporter: StateReporter) -> None:
        self._owner = owner
        self._reporter = reporter
        self._closed = False

    @property
    def stats(self) -> ReporterStats:
        return self._reporter.stats

    def send(self, report: VehicleReport) -> None:
        async def send() -> None:
            self._reporter.send(report)

        self._owner._call(send(), None)

    def close(self) -> ReporterStats:
        if not self._closed:
            self._closed = True
            self._owner._call(self._reporter.close(), None)
        return self._reporter.stats

    def __enter__(self) -> SyncStateReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncRoadsideClient:
    """``RoadsideClient`` for blocking code; takes the same arguments."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="vicoop-rsu-client", daemon=True
        )
        self._client = RoadsideClient(target, **kwargs)
        self._streams: list[_SyncStream[Any, Any]] = []
        self._reporters: list[SyncStateReporter] = []

    def _call(self, awaitable: Awaitable[T], timeout_s: float | None) -> T:
        async def wait() -> T:
            return await awaitable

        future: Future[T] = asyncio.run_coroutine_threadsafe(wait(), self._loop)
        return future.result(timeout_s)

    def __enter__(self) -> SyncRoadsideClient:
        self._thread.start()
        self._call(self._client.__aenter__(), None)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        for reporter in self._reporters:
            reporter.close()
        for stream in self._streams:
            stream.close()
        self._call(self._client.close(), None)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def site(self, timeout_s: float = 5.0) -> SiteInfo:
        return self._call(self._client.site(timeout_s), None)

    def perception(
        self,
        roi: RegionOfInterest | Sequence[tuple[float, float]] | None = None,
        classes: Iterable[ObjectClass] = (),
        max_rate_hz: float = 0.0,
        *,
        client_id: str = "",
        stale_after_s: float | None = None,
        next_timeout_s: float | None = None,
    ) -> SyncPerceptionStream:
        """As ``RoadsideClient.perception``; ``next_timeout_s`` bounds each wait for a frame
        (``TimeoutError``), None waits for ever."""
        stream = self._client.perception(
            roi, classes, max_rate_hz, client_id=client_id, stale_after_s=stale_after_s
        )
        sync_stream = SyncPerceptionStream(self, stream, next_timeout_s)
        self._streams.append(sync_stream)
        return sync_stream

    def zones(self, *, next_timeout_s: float | None = None) -> SyncZoneStream:
        """As ``RoadsideClient.zones``; ``next_timeout_s`` bounds each wait for a change."""
        stream = SyncZoneStream(self, self._client.zones(), next_timeout_s)
        self._streams.append(stream)
        return stream

    def reporter(self, queue_reports: int = 8) -> SyncStateReporter:
        """As ``RoadsideClient.reporter``, already started; ``close()`` it (or use ``with``)."""
        reporter = self._client.reporter(queue_reports)
        self._call(reporter.start(), None)
        sync_reporter = SyncStateReporter(self, reporter)
        self._reporters.append(sync_reporter)
        return sync_reporter

    def report_state(
        self, reports: Iterable[VehicleReport], timeout_s: float = 10.0
    ) -> ReportSummary:
        return self._call(self._client.report_state(list(reports), timeout_s), None)
