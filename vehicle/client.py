"""The vehicle side of the RSU's service: perception, pilot zones, the vehicle's own reports.

::

    async with RoadsideClient("rsu-17.zone:50051") as rsu:
        async for frame in rsu.perception(roi=Circle(0, 0, 80), classes={ObjectClass.PEDESTRIAN}):
            print(frame.latency_s, len(frame.objects))

    async with RoadsideClient(target) as rsu, rsu.reporter() as me:
        me.send(VehicleReport("veh-42", ObjectClass.CAR, lat, lon, 8.0, 0.3, Size3(4.5, 1.8, 1.5),
                              time.time_ns(), permit_id="AV-17"))
        async for zones in rsu.zones():
            print(zones.rules_at(lat, lon).speed_limit_mps)

A perception stream survives the RSU restarting: it reconnects with exponential backoff and
resubscribes with the same options. A stream that stays silent for ``stale_after_s`` is counted
as stale and reconnected too. Its ``stats`` say what happened. Zone streams and reporters
reconnect the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import grpc
from google.protobuf.message import DecodeError

from protos.vicoop.v1 import roadside_pb2
from vehicle.errors import ClientStateError, RoadsideUnavailable, SubscriptionRejected
from vehicle.tls import ClientTls
from vehicle.zones import PilotZones
from vicoop import codec, codec_cloud, codec_map, codec_spat
from vicoop.backoff import Backoff
from vicoop.cloudmodel import VehicleReport
from vicoop.errors import CodecError
from vicoop.intersection import IntersectionMap
from vicoop.model import (
    Circle,
    ObjectClass,
    PerceptionFrame,
    Polygon,
    RegionOfInterest,
    SiteInfo,
    Subscription,
)
from vicoop.spat import Spat
from vicoop.zones import Zone, ZoneSet

log = logging.getLogger(__name__)

_SERVICE = "/vicoop.v1.Roadside/"
# Status codes after which resubscribing with the same request cannot succeed.
_FINAL_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


class ClientState(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential backoff between reconnection attempts.

    The first retry waits ``initial_backoff_s``, each next one ``multiplier`` times longer, at
    most ``max_backoff_s``, each randomised by +-``jitter`` (a fraction). ``give_up_after_s``
    None keeps trying for ever; otherwise ``RoadsideUnavailable`` is raised after that long
    without a frame.
    """

    initial_backoff_s: float = 0.1
    max_backoff_s: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2
    give_up_after_s: float | None = None

    def __post_init__(self) -> None:
        self.backoff()  # a policy that cannot back off fails here, saying why (ValueError)

    def backoff(self) -> Backoff:
        """The policy's waits as the kernel's ``Backoff`` (the one backoff of every retry)."""
        return Backoff(
            initial_s=self.initial_backoff_s,
            factor=self.multiplier,
            max_s=self.max_backoff_s,
            jitter=self.jitter,
        )

    def delays(self) -> Iterable[float]:
        """The waits before each reconnection attempt, s (endless)."""
        return self.backoff().delays(random.Random())


@dataclass(slots=True)
class StreamStats:
    """What a perception stream has seen so far."""

    frames: int = 0
    # Frames the RSU published that this stream never got (gaps in the sequence numbers, not
    # counting frames skipped on purpose by ``max_rate_hz``).
    frames_missed: int = 0
    reconnects: int = 0
    stale_events: int = 0
    decode_errors: int = 0
    last_latency_s: float | None = None
    connected: bool = False


def _as_region(
    roi: RegionOfInterest | Sequence[tuple[float, float]] | None,
) -> RegionOfInterest | None:
    if roi is None or isinstance(roi, Circle | Polygon):
        return roi
    return Polygon(tuple((float(x), float(y)) for x, y in roi))


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class PerceptionStream:
    """An RSU's perception frames for one subscription; iterate it with ``async for``."""

    def __init__(
        self,
        client: RoadsideClient,
        subscription: Subscription,
        stale_after_s: float,
        reconnect: ReconnectPolicy,
    ) -> None:
        self.subscription = subscription
        self.stats = StreamStats()
        self._client = client
        self._request = roadside_pb2.StreamPerceptionRequest(
            options=codec.subscription_to_proto(subscription)
        ).SerializeToString()
        self._stale_after_s = stale_after_s
        if subscription.max_rate_hz > 0:
            self._stale_after_s = max(stale_after_s, 3.0 / subscription.max_rate_hz)
        self._reconnect = reconnect
        self._last_sequence: tuple[str, int] | None = None

    def __aiter__(self) -> AsyncIterator[PerceptionFrame]:
        return self._frames()

    def _note_sequence(self, frame: PerceptionFrame) -> None:
        last = self._last_sequence
        if last is not None and last[0] == frame.rsu_id and frame.sequence > last[1] + 1:
            missed = frame.sequence - last[1] - 1
            if self.subscription.max_rate_hz <= 0:
                self.stats.frames_missed += missed
        self._last_sequence = (frame.rsu_id, frame.sequence)

    async def _frames(self) -> AsyncIterator[PerceptionFrame]:
        delays = iter(self._reconnect.delays())
        last_good = time.monotonic()
        while self._client.state is ClientState.OPEN:
            call = self._client._open_stream("StreamPerception", self._request)
            try:
                while True:
                    try:
                        data = await asyncio.wait_for(call.read(), self._stale_after_s)
                    except asyncio.CancelledError:
                        if self._client.state is ClientState.OPEN or _being_cancelled():
                            raise
                        return  # the client was closed under the stream: it just ends
                    except TimeoutError:
                        self.stats.stale_events += 1
                        log.warning(
                            "no frame for %.1f s from %s; reconnecting",
                            self._stale_after_s,
                            self._client.target,
                        )
                        break
                    if data is grpc.aio.EOF:
                        break
                    received_at = self._client.clock()
                    try:
                        response = roadside_pb2.StreamPerceptionResponse.FromString(data)
                        frame = codec.frame_from_proto(response.frame, received_at)
                    except (DecodeError, CodecError) as exc:
                        self.stats.decode_errors += 1
                        log.warning(
                            "skipped a frame from %s that could not be decoded: %s",
                            self._client.target,
                            exc,
                        )
                        continue
                    self.stats.frames += 1
                    self.stats.connected = True
                    self.stats.last_latency_s = frame.latency_s
                    self._note_sequence(frame)
                    delays = iter(self._reconnect.delays())
                    last_good = time.monotonic()
                    yield frame
            except grpc.aio.AioRpcError as exc:
                if exc.code() in _FINAL_CODES:
                    raise SubscriptionRejected(exc.code().name, exc.details() or "") from None
                if self._client.state is not ClientState.OPEN:
                    return
                log.info(
                    "stream from %s ended: %s %s",
                    self._client.target,
                    exc.code().name,
                    exc.details(),
                )
            finally:
                call.cancel()
                self.stats.connected = False
            give_up = self._reconnect.give_up_after_s
            if give_up is not None and time.monotonic() - last_good > give_up:
                raise RoadsideUnavailable(f"no frame from {self._client.target} for {give_up:g} s")
            self.stats.reconnects += 1
            await asyncio.sleep(next(delays))


def _decode_zones(data: bytes) -> ZoneSet:
    try:
        response = roadside_pb2.StreamZonesResponse.FromString(data)
    except (DecodeError, ValueError) as exc:
        raise CodecError(f"not a valid vicoop.v1.StreamZonesResponse: {exc}") from None
    zones: dict[str, Zone] = {}
    for i, pb in enumerate(response.zones):
        zone = codec_cloud.zone_from_proto(pb, f"zones[{i}]")
        zones[zone.zone_id] = zone
    return ZoneSet(zones, response.revision)


def _encode_report(report: VehicleReport) -> bytes:
    return roadside_pb2.ReportVehicleStateRequest(
        report=codec_cloud.report_to_proto(report)
    ).SerializeToString()


@dataclass(slots=True)
class ZoneStreamStats:
    """What a zone (or SPaT) stream has seen so far."""

    updates: int = 0
    reconnects: int = 0
    decode_errors: int = 0
    connected: bool = False
    # Responses the RSU sent that this stream never got (SPaT sequence gaps; zones: always 0).
    missed: int = 0


T = TypeVar("T")


class _StateStream(Generic[T]):
    """A server stream of whole states, where the newest is all that matters: each response
    replaces the last. Reconnects with the client's policy; iterate it with ``async for``."""

    method = ""  # the RPC's name
    what = ""  # what it streams, for messages

    def __init__(self, client: RoadsideClient, reconnect: ReconnectPolicy, request: bytes) -> None:
        self.stats = ZoneStreamStats()
        self.latest: T | None = None
        self._client = client
        self._reconnect = reconnect
        self._request = request

    def _decode(self, data: bytes) -> T:
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[T]:
        return self._updates()

    async def _updates(self) -> AsyncIterator[T]:
        delays = iter(self._reconnect.delays())
        last_good = time.monotonic()
        while self._client.state is ClientState.OPEN:
            call = self._client._open_stream(self.method, self._request)
            try:
                while True:
                    try:
                        data = await call.read()
                    except asyncio.CancelledError:
                        if self._client.state is ClientState.OPEN or _being_cancelled():
                            raise
                        return
                    if data is grpc.aio.EOF:
                        break
                    try:
                        update = self._decode(data)
                    except CodecError as exc:
                        self.stats.decode_errors += 1
                        log.warning("skipped %s from %s: %s", self.what, self._client.target, exc)
                        continue
                    self.stats.updates += 1
                    self.stats.connected = True
                    delays = iter(self._reconnect.delays())
                    last_good = time.monotonic()
                    self.latest = update
                    yield update
            except grpc.aio.AioRpcError as exc:
                if exc.code() in _FINAL_CODES:
                    raise SubscriptionRejected(exc.code().name, exc.details() or "") from None
                if self._client.state is not ClientState.OPEN:
                    return
                log.info(
                    "%s stream from %s ended: %s", self.what, self._client.target, exc.code().name
                )
            finally:
                call.cancel()
                self.stats.connected = False
            give_up = self._reconnect.give_up_after_s
            if give_up is not None and time.monotonic() - last_good > give_up:
                raise RoadsideUnavailable(
                    f"no {self.what} from {self._client.target} for {give_up:g} s"
                )
            self.stats.reconnects += 1
            await asyncio.sleep(next(delays))


class ZoneStream(_StateStream[PilotZones]):
    """The pilot zones an RSU holds: the whole set at once, then again at every change, as
    ``PilotZones``; iterate it with ``async for``. ``latest`` is the last set received."""

    method = "StreamZones"
    what = "zones"

    def __init__(self, client: RoadsideClient, reconnect: ReconnectPolicy) -> None:
        super().__init__(client, reconnect, b"")

    def _decode(self, data: bytes) -> PilotZones:
        return PilotZones(_decode_zones(data), self._client.target)


@dataclass(frozen=True, slots=True)
class SpatUpdate:
    """One ``StreamSpat`` response: the SPaT of the intersections asked for, by id."""

    rsu_id: str
    sequence: int
    intersections: dict[str, Spat]


class SpatStream(_StateStream[SpatUpdate]):
    """The signal phase and timing of an RSU's intersections: at once, then at 10 Hz and at
    every change, as ``SpatUpdate``; iterate it with ``async for``. ``latest`` is the last one;
    ``stats.missed`` counts responses the RSU sent that this stream never got."""

    method = "StreamSpat"
    what = "SPaT"

    def __init__(
        self, client: RoadsideClient, reconnect: ReconnectPolicy, intersections: Sequence[str]
    ) -> None:
        request = roadside_pb2.StreamSpatRequest(intersection_ids=list(intersections))
        super().__init__(client, reconnect, request.SerializeToString())
        self._last_sequence: int | None = None

    def _decode(self, data: bytes) -> SpatUpdate:
        try:
            response = roadside_pb2.StreamSpatResponse.FromString(data)
        except (DecodeError, ValueError) as exc:
            raise CodecError(f"not a valid vicoop.v1.StreamSpatResponse: {exc}") from None
        spats = [
            codec_spat.spat_from_proto(pb, f"intersections[{i}]")
            for i, pb in enumerate(response.intersections)
        ]
        last = self._last_sequence
        if last is not None and response.sequence > last + 1:
            self.stats.missed += response.sequence - last - 1
        self._last_sequence = response.sequence
        return SpatUpdate(response.rsu_id, response.sequence, {s.intersection_id: s for s in spats})


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """The RSU's answer to one report stream: how many reports it accepted and rejected, and
    why (the first rejections, each naming the report and the field)."""

    accepted: int
    rejected: int
    rejections: tuple[str, ...] = ()


@dataclass(slots=True)
class ReporterStats:
    """What a ``StateReporter`` has done; ``accepted``/``rejected`` come from the RSU's answers
    (one per stream, when it ends)."""

    sent: int = 0
    # Reports replaced by a newer one before they could be sent (latest wins).
    dropped: int = 0
    accepted: int = 0
    rejected: int = 0
    rejections: list[str] = field(default_factory=list)
    reconnects: int = 0
    connected: bool = False


class StateReporter:
    """Streams this vehicle's reports of its own state to the RSU (``ReportVehicleState``).

    ``send`` never waits on the network: reports wait in a small queue, and when it is full the
    oldest is dropped (the newest state is the one that matters). A broken stream is opened
    again with the client's backoff; reports in flight then may be lost. ``close()`` ends the
    stream and returns the stats, with the RSU's counts of accepted and rejected reports.
    Use it with ``async with rsu.reporter() as me: me.send(report)``.
    """

    def __init__(
        self, client: RoadsideClient, reconnect: ReconnectPolicy, queue_reports: int = 8
    ) -> None:
        self.stats = ReporterStats()
        self._client = client
        self._reconnect = reconnect
        self._queue: deque[bytes] = deque(maxlen=queue_reports)
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._generation = 0

    def send(self, report: VehicleReport) -> None:
        """Queue ``report`` for the RSU; it is checked here first, as the RSU would decode it
        (``SubscriptionRejected`` INVALID_ARGUMENT for a malformed one, e.g. a bad id)."""
        data = _encode_report(report)
        try:
            codec_cloud.report_from_proto(codec_cloud.report_to_proto(report))
        except CodecError as exc:
            raise SubscriptionRejected("INVALID_ARGUMENT", str(exc)) from None
        if self._closing:
            raise ClientStateError("the reporter is closed")
        if self._error is not None:
            raise self._error
        if len(self._queue) == self._queue.maxlen:
            self.stats.dropped += 1
        self._queue.append(data)
        self._ready.set()

    async def start(self) -> None:
        self._client._require_channel()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="vicoop-vehicle-reporter")

    async def close(self, timeout_s: float = 5.0) -> ReporterStats:
        """Send what is queued, end the stream and wait (at most ``timeout_s``) for the RSU's
        counts."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(timeout_s):
                    await asyncio.shield(self._task)
            except TimeoutError:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return self.stats

    async def __aenter__(self) -> StateReporter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _requests(self, generation: int) -> AsyncIterator[bytes]:
        # A broken call's iterator may still be waiting here: it must not take reports meant
        # for the stream that replaced it.
        while generation == self._generation:
            while self._queue and generation == self._generation:
                self.stats.sent += 1
                yield self._queue.popleft()
            if self._closing:
                return
            self._ready.clear()
            await self._ready.wait()

    async def _run(self) -> None:
        delays = iter(self._reconnect.delays())
        while self._client.state is ClientState.OPEN:
            if self._closing and not self._queue:
                return
            method = self._client._require_channel().stream_unary(
                _SERVICE + "ReportVehicleState",
                request_serializer=None,
                response_deserializer=roadside_pb2.ReportVehicleStateResponse.FromString,
            )
            self.stats.connected = True
            self._generation += 1
            try:
                response = await method(
                    self._requests(self._generation),
                    wait_for_ready=True,
                    metadata=self._client._report_metadata,
                )
            except grpc.aio.AioRpcError as exc:
                self.stats.connected = False
                if exc.code() in _FINAL_CODES:
                    self._error = SubscriptionRejected(exc.code().name, exc.details() or "")
                    return
                if self._client.state is not ClientState.OPEN:
                    return
                log.info("report stream to %s ended: %s", self._client.target, exc.code().name)
                self._generation += 1
                self._ready.set()  # the broken call's iterator, if still waiting, ends
                self.stats.reconnects += 1
                await asyncio.sleep(next(delays))
                continue
            except asyncio.CancelledError:
                self.stats.connected = False
                if self._client.state is ClientState.OPEN or _being_cancelled():
                    raise
                return
            self.stats.connected = False
            self.stats.accepted += response.accepted
            self.stats.rejected += response.rejected
            self.stats.rejections.extend(response.rejections)
            delays = iter(self._reconnect.delays())


class RoadsideClient:
    """A connection to one RSU. Use it with ``async with``.

    ``target`` is ``host:port``. ``clock`` gives the receive time stamped on each frame (ns since
    the Unix epoch); the default is the system clock, which must be synchronised (PTP/NTP) with
    the RSU's for the latency figures to mean anything.

    ``tls`` (``vehicle.tls.ClientTls``): connect over TLS, checking the RSU's certificate
    against its CA, with this vehicle's client certificate when it has one; None: plaintext
    (an RSU on the same machine or a closed network, e.g. ``vicoop demo``).

    ``credential``: the vehicle credential the twin issued this vehicle (``v1....``; its vehicle
    id and permits, signed), sent with its reports (``authorization: Bearer`` metadata) so the
    RSU takes them as this vehicle's; an RSU that requires identities refuses reports without
    one (``SubscriptionRejected('UNAUTHENTICATED', ...)``).
    """

    def __init__(
        self,
        target: str,
        *,
        reconnect: ReconnectPolicy | None = None,
        stale_after_s: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
        channel_options: Sequence[tuple[str, int | str]] = (),
        tls: ClientTls | None = None,
        credential: str | None = None,
    ) -> None:
        self.target = target
        self.tls = tls
        self._report_metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {credential}"),) if credential else ()
        )
        self.reconnect = reconnect or ReconnectPolicy()
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.state = ClientState.UNOPENED
        self._channel_options = [
            ("grpc.initial_reconnect_backoff_ms", int(self.reconnect.initial_backoff_s * 1000)),
            ("grpc.min_reconnect_backoff_ms", int(self.reconnect.initial_backoff_s * 1000)),
            ("grpc.max_reconnect_backoff_ms", int(self.reconnect.max_backoff_s * 1000)),
            ("grpc.keepalive_time_ms", 10_000),
            ("grpc.keepalive_timeout_ms", 5_000),
            ("grpc.enable_retries", 0),
            *(tls.channel_options() if tls is not None else ()),
            *channel_options,
        ]
        self._channel: grpc.aio.Channel | None = None

    async def __aenter__(self) -> RoadsideClient:
        if self.state is not ClientState.UNOPENED:
            raise ClientStateError(f"the client is {self.state.value}; open a new one")
        if self.tls is None:
            self._channel = grpc.aio.insecure_channel(self.target, options=self._channel_options)
        else:
            self._channel = grpc.aio.secure_channel(
                self.target, self.tls.credentials(), options=self._channel_options
            )
        self.state = ClientState.OPEN
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection; open streams end."""
        if self.state is ClientState.OPEN and self._channel is not None:
            self.state = ClientState.CLOSED
            await self._channel.close()
        self.state = ClientState.CLOSED

    def _require_channel(self) -> grpc.aio.Channel:
        if self.state is not ClientState.OPEN or self._channel is None:
            raise ClientStateError(f"the client is {self.state.value}; use it inside 'async with'")
        return self._channel

    def _open_stream(self, name: str, request: bytes) -> grpc.aio.UnaryStreamCall:  # type: ignore[type-arg]
        method = self._require_channel().unary_stream(
            _SERVICE + name, request_serializer=None, response_deserializer=None
        )
        return method(request)

    def zones(self) -> ZoneStream:
        """The pilot zones the RSU holds, as ``PilotZones`` (``rules_at(lat, lon)`` answers
        which rules apply at a WGS84 position now): the whole set at once, then again at every
        change. Reconnects like ``perception``."""
        self._require_channel()
        return ZoneStream(self, self.reconnect)

    def spat(self, intersections: Sequence[str] = ()) -> SpatStream:
        """Signal phase and timing of the RSU's intersections (those named, or all), as
        ``SpatUpdate``: each signal group's state and when it ends (``min_end_ns`` ..
        ``max_end_ns``, ``likely_end_ns``; None is unknown, never a guess). At once, then at
        10 Hz and at every change. An intersection the RSU does not serve raises
        ``SubscriptionRejected``. Reconnects like ``perception``."""
        self._require_channel()
        return SpatStream(self, self.reconnect, intersections)

    def reporter(self, queue_reports: int = 8) -> StateReporter:
        """A ``StateReporter`` streaming this vehicle's own state to the RSU; use it with
        ``async with`` and call ``send(report)`` at your own rate."""
        self._require_channel()
        return StateReporter(self, self.reconnect, queue_reports)

    async def report_state(
        self, reports: Iterable[VehicleReport], timeout_s: float = 10.0
    ) -> ReportSummary:
        """Send ``reports`` (``VehicleReport``: WGS84 position, speed m/s, heading rad from
        east, size m, measured_at_ns, permit id) on one stream; returns the RSU's counts."""
        method = self._require_channel().stream_unary(
            _SERVICE + "ReportVehicleState",
            request_serializer=None,
            response_deserializer=roadside_pb2.ReportVehicleStateResponse.FromString,
        )
        payloads = [_encode_report(r) for r in reports]
        response = await method(
            iter(payloads),
            timeout=timeout_s,
            wait_for_ready=True,
            metadata=self._report_metadata,
        )
        return ReportSummary(response.accepted, response.rejected, tuple(response.rejections))

    async def site(self, timeout_s: float = 5.0) -> SiteInfo:
        """The RSU's id, the origin of its ENU frame and its publish rate."""
        method = self._require_channel().unary_unary(
            _SERVICE + "GetSite",
            request_serializer=roadside_pb2.GetSiteRequest.SerializeToString,
            response_deserializer=roadside_pb2.GetSiteResponse.FromString,
        )
        response = await method(
            roadside_pb2.GetSiteRequest(), timeout=timeout_s, wait_for_ready=True
        )
        return SiteInfo(
            rsu_id=response.rsu_id,
            origin=codec.origin_from_proto(response.origin),
            publish_rate_hz=response.publish_rate_hz,
        )

    async def map(
        self, intersections: Sequence[str] = (), timeout_s: float = 5.0
    ) -> dict[str, IntersectionMap]:
        """The MAP of the RSU's intersections (those named, or all), by intersection id: lanes
        (centre lines in the RSU's ENU frame), stop lines, connections and their signal groups,
        the groups' conflicts and crosswalks, each map with its ``revision``. An intersection
        the RSU has no MAP for raises ``SubscriptionRejected``; a MAP that does not decode,
        ``CodecError`` naming the field."""
        method = self._require_channel().unary_unary(
            _SERVICE + "GetMap",
            request_serializer=roadside_pb2.GetMapRequest.SerializeToString,
            response_deserializer=roadside_pb2.GetMapResponse.FromString,
        )
        try:
            response = await method(
                roadside_pb2.GetMapRequest(intersection_ids=list(intersections)),
                timeout=timeout_s,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
                raise SubscriptionRejected(exc.code().name, exc.details() or "") from None
            raise
        maps = (
            codec_map.map_from_proto(m, f"intersections[{i}]")
            for i, m in enumerate(response.intersections)
        )
        return {m.intersection_id: m for m in maps}

    def perception(
        self,
        roi: RegionOfInterest | Sequence[tuple[float, float]] | None = None,
        classes: Iterable[ObjectClass] = (),
        max_rate_hz: float = 0.0,
        *,
        client_id: str = "",
        stale_after_s: float | None = None,
    ) -> PerceptionStream:
        """Subscribe to the RSU's perception frames.

        ``roi`` is a ``Circle``, a ``Polygon`` or a sequence of (x, y) vertices, in metres in the
        RSU's ENU frame (``site()`` gives its origin; ``vehicle.geo.wgs84_to_enu`` converts);
        only objects inside it are sent. ``classes`` keeps only those classes; ``max_rate_hz``
        thins the stream. Raises ``SubscriptionRejected`` for a subscription the RSU would refuse.
        """
        self._require_channel()
        subscription = Subscription(
            region=_as_region(roi),
            classes=frozenset(ObjectClass(c) for c in classes),
            max_rate_hz=float(max_rate_hz),
            client_id=client_id,
        )
        try:  # the RSU's own validation, run here so that a mistake fails before any I/O
            codec.subscription_from_proto(codec.subscription_to_proto(subscription))
        except CodecError as exc:
            raise SubscriptionRejected("INVALID_ARGUMENT", str(exc)) from None
        return PerceptionStream(
            self, subscription, stale_after_s or self.stale_after_s, self.reconnect
        )


__all__ = [
    "ClientState",
    "PerceptionStream",
    "ReconnectPolicy",
    "ReportSummary",
    "ReporterStats",
    "RoadsideClient",
    "SpatStream",
    "SpatUpdate",
    "StateReporter",
    "StreamStats",
    "ZoneStream",
    "ZoneStreamStats",
]
