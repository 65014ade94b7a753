"""The vehicle side of RSU -> vehicle perception streaming.

::

    async with RoadsideClient("rsu-17.zone:50051") as rsu:
        async for frame in rsu.perception(roi=Circle(0, 0, 80), classes={ObjectClass.PEDESTRIAN}):
            print(frame.latency_s, len(frame.objects))

A perception stream survives the RSU restarting: it reconnects with exponential backoff and
resubscribes with the same options. A stream that stays silent for ``stale_after_s`` is counted
as stale and reconnected too. Its ``stats`` say what happened.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError

from protos.vicoop.v1 import roadside_pb2
from vehicle.errors import ClientStateError, RoadsideUnavailable, SubscriptionRejected
from vicoop import codec
from vicoop.errors import CodecError
from vicoop.model import (
    Circle,
    ObjectClass,
    PerceptionFrame,
    Polygon,
    RegionOfInterest,
    SiteInfo,
    Subscription,
)

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

    def delays(self) -> Iterable[float]:
        delay = self.initial_backoff_s
        while True:
            yield delay * (1.0 + random.uniform(-self.jitter, self.jitter))
            delay = min(delay * self.multiplier, self.max_backoff_s)


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
            call = self._client._open_stream(self._request)
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


class RoadsideClient:
    """A connection to one RSU. Use it with ``async with``.

    ``target`` is ``host:port``. ``clock`` gives the receive time stamped on each frame (ns since
    the Unix epoch); the default is the system clock, which must be synchronised (PTP/NTP) with
    the RSU's for the latency figures to mean anything.
    """

    def __init__(
        self,
        target: str,
        *,
        reconnect: ReconnectPolicy | None = None,
        stale_after_s: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
        channel_options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        self.target = target
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
            *channel_options,
        ]
        self._channel: grpc.aio.Channel | None = None

    async def __aenter__(self) -> RoadsideClient:
        if self.state is not ClientState.UNOPENED:
            raise ClientStateError(f"the client is {self.state.value}; open a new one")
        self._channel = grpc.aio.insecure_channel(self.target, options=self._channel_options)
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

    def _open_stream(self, request: bytes) -> grpc.aio.UnaryStreamCall:  # type: ignore[type-arg]
        method = self._require_channel().unary_stream(
            _SERVICE + "StreamPerception", request_serializer=None, response_deserializer=None
        )
        return method(request)

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


__all__ = ["ClientState", "PerceptionStream", "ReconnectPolicy", "RoadsideClient", "StreamStats"]
