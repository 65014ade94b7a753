"""The RSU's gRPC server: the ``vicoop.v1.Roadside`` service, health checking and (when asked
for) reflection, over TLS or mutual TLS when configured (``vicoop.serving.tls``), with
per-client stream limits and keepalive, idle and handshake limits (``vicoop.serving.peers``).

The servicer is thin: it validates the request, subscribes to the hub (or the zone feed) and
forwards the bytes queued there; vehicle reports are parsed by ``encoding`` and judged by the
pure ``ReportBook``. Responses are already serialized (see ``encoding``), so the method is registered with
no response serializer, and requests are parsed here so that a malformed one gets
INVALID_ARGUMENT rather than gRPC's generic INTERNAL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from protos.vicoop.v1 import roadside_pb2
from vicoop import codec
from vicoop.cloudmodel import VehicleReport
from vicoop.codec_map import map_to_proto
from vicoop.errors import CodecError
from vicoop.intersection import IntersectionMap
from vicoop.model import SiteInfo
from vicoop.serving.encoding import decode_report_request, encode_report_response, varint
from vicoop.serving.errors import ServingError, TooManySubscribers, Unavailable
from vicoop.serving.hub import PerceptionHub
from vicoop.serving.identity import (
    IdentityRefused,
    VehicleAuthenticator,
    VehicleIdentity,
    check_identity,
)
from vicoop.serving.peers import DEFAULT_LIMITS, ConnectionLimits, PeerStreams, peer_identity
from vicoop.serving.reports import ReportBook, ReportRejected
from vicoop.serving.spatfeed import SpatFeed, UnknownIntersection
from vicoop.serving.tls import ServerTls, ServerTlsConfig
from vicoop.serving.zonefeed import ZoneFeed

log = logging.getLogger(__name__)

SERVICE_NAME = roadside_pb2.DESCRIPTOR.services_by_name["Roadside"].full_name
# Reasons returned to a reporting vehicle at most (all are counted).
MAX_REJECTIONS_RETURNED = 16


class RoadsideServer:
    """A grpc.aio server publishing ``hub``'s frames and ``zones``' sets, and taking vehicle
    reports into ``reports``; ``port=0`` takes a free port.

    Accepted reports are passed to ``on_report`` (the cloud link forwards them to the twin),
    well-formed but rejected ones to ``on_rejected``.
    ``clock`` (ns since the Unix epoch) is the time reports are judged at.

    ``tls`` (a ``ServerTlsConfig``): serve over TLS, and require client certificates signed by
    its ``client_ca_file`` when set; None: plaintext. ``reload_tls()`` reads the files again.
    ``limits``: streams per client and the connections' keepalive, idle and handshake limits.
    ``reflection_enabled``: serve gRPC server reflection (off by default: it lists the API to
    anyone who asks).
    """

    def __init__(
        self,
        hub: PerceptionHub,
        site: SiteInfo,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        reflection_enabled: bool = False,
        tls: ServerTlsConfig | None = None,
        limits: ConnectionLimits = DEFAULT_LIMITS,
        zones: ZoneFeed | None = None,
        spat: SpatFeed | None = None,
        maps: Sequence[IntersectionMap] = (),
        reports: ReportBook | None = None,
        on_report: Callable[[VehicleReport], None] | None = None,
        on_rejected: Callable[[VehicleReport, ReportRejected], None] | None = None,
        authenticator: VehicleAuthenticator | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.hub = hub
        self.site = site
        self.zones = zones if zones is not None else ZoneFeed()
        self.spat = spat if spat is not None else SpatFeed(site.rsu_id, ())
        self.maps: dict[str, IntersectionMap] = {}
        self._map_entries: dict[str, bytes] = {}
        self.set_maps(maps)
        self.reports = reports if reports is not None else ReportBook(site.origin)
        self.authenticator = authenticator
        self.on_report = on_report
        self.on_rejected = on_rejected
        self.clock = clock
        self.host = host
        self.requested_port = port
        self.reflection_enabled = reflection_enabled
        self.tls = ServerTls(tls) if tls is not None else None
        self.limits = limits
        self.streams = PeerStreams(limits.max_streams_per_peer)
        self.port: int | None = None
        self.rejected_requests = 0
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._closing = False

    @property
    def target(self) -> str:
        """``host:port`` for clients; valid after ``start``."""
        if self.port is None:
            raise RuntimeError("the server has not started")
        return f"{self.host}:{self.port}"

    async def start(self) -> int:
        """Bind and start serving; returns the port."""
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0), *self.limits.grpc_options()])
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    SERVICE_NAME,
                    {
                        "GetSite": grpc.unary_unary_rpc_method_handler(
                            self._get_site,
                            request_deserializer=None,
                            response_serializer=roadside_pb2.GetSiteResponse.SerializeToString,
                        ),
                        "StreamPerception": grpc.unary_stream_rpc_method_handler(
                            self._stream_perception,
                            request_deserializer=None,
                            response_serializer=None,
                        ),
                        "StreamZones": grpc.unary_stream_rpc_method_handler(
                            self._stream_zones,
                            request_deserializer=None,
                            response_serializer=None,
                        ),
                        "StreamSpat": grpc.unary_stream_rpc_method_handler(
                            self._stream_spat,
                            request_deserializer=None,
                            response_serializer=None,
                        ),
                        "GetMap": grpc.unary_unary_rpc_method_handler(
                            self._get_map,
                            request_deserializer=None,
                            response_serializer=None,
                        ),
                        "ReportVehicleState": grpc.stream_unary_rpc_method_handler(
                            self._report_vehicle_state,
                            request_deserializer=None,
                            response_serializer=None,
                        ),
                    },
                ),
            )
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        services = [SERVICE_NAME, health.SERVICE_NAME]
        if self.reflection_enabled:
            services.append(reflection.SERVICE_NAME)
            reflection.enable_server_reflection(services, server)
        try:
            address = f"{self.host}:{self.requested_port}"
            if self.tls is None:
                port: int = server.add_insecure_port(address)
            else:
                port = server.add_secure_port(address, self.tls.credentials())
        except RuntimeError:  # grpc's own message says only "Failed to bind"
            port = 0
        if port == 0:
            raise ServingError(
                f"the gRPC server cannot listen on {self.host}:{self.requested_port} "
                "(in use, or not an address of this machine)"
            )
        await server.start()
        for name in ("", SERVICE_NAME):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._server, self.port = server, port
        security = "plaintext"
        if self.tls is not None:
            security = "mutual TLS" if self.tls.mutual else "TLS"
        log.info("RSU %s serving on %s:%d (%s)", self.site.rsu_id, self.host, port, security)
        return port

    def reload_tls(self) -> bool:
        """Read the TLS files again (the daemon's SIGHUP): new connections get the new
        certificates, open ones keep theirs. False when there is no TLS or a file is bad (logged;
        the old certificates stay)."""
        if self.tls is None:
            log.warning("reload asked, but the gRPC server has no TLS configured")
            return False
        return self.tls.reload()

    async def stop(self, grace_period_s: float = 2.0) -> None:
        """Stop accepting subscriptions, let open streams drain what is queued, then stop.

        Streams still open after ``grace_period_s`` are cancelled.
        """
        if self._server is None:
            return
        self._closing = True
        await self._health.enter_graceful_shutdown()
        stopping = asyncio.ensure_future(self._server.stop(grace_period_s))
        await asyncio.sleep(0)  # let the server refuse new calls before streams end
        self.hub.close_all()
        self.zones.close_all()
        self.spat.close_all()
        await stopping
        self._server = None
        log.info("RSU %s stopped", self.site.rsu_id)

    async def _get_site(
        self, request: bytes, context: grpc.aio.ServicerContext
    ) -> roadside_pb2.GetSiteResponse:
        return roadside_pb2.GetSiteResponse(
            rsu_id=self.site.rsu_id,
            origin=codec.origin_to_proto(self.site.origin),
            publish_rate_hz=self.site.publish_rate_hz,
        )

    async def _reject(
        self, context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str
    ) -> None:
        self.rejected_requests += 1
        peer = context.peer()
        log.warning("rejected a subscription from %s: %s", peer, message)
        await context.abort(code, message)

    async def _stream_perception(
        self, request: bytes, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        try:
            options = roadside_pb2.StreamPerceptionRequest.FromString(request).options
            subscription = codec.subscription_from_proto(options)
        except DecodeError as exc:
            await self._reject(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"request is not a valid vicoop.v1.StreamPerceptionRequest: {exc}",
            )
            return
        except CodecError as exc:
            await self._reject(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            return
        if self._closing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the RSU is shutting down")
        try:
            with (
                self.streams.hold(peer_identity(context), "StreamPerception"),
                self.hub.subscribe(subscription) as subscriber,
            ):
                log.debug(
                    "subscriber %d (%s) from %s",
                    subscriber.id,
                    subscriber.client_id,
                    context.peer(),
                )
                while (data := await subscriber.next()) is not None:
                    yield data
        except TooManySubscribers as exc:
            await self._reject(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))

    async def _stream_zones(
        self, request: bytes, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        try:
            roadside_pb2.StreamZonesRequest.FromString(request)
        except (DecodeError, ValueError) as exc:
            await self._reject(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"request is not a valid vicoop.v1.StreamZonesRequest: {exc}",
            )
            return
        if self._closing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the RSU is shutting down")
        try:
            with self.streams.hold(peer_identity(context), "StreamZones"):
                async for data in self.zones.updates():
                    yield data
        except TooManySubscribers as exc:
            await self._reject(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))

    async def _stream_spat(
        self, request: bytes, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        try:
            wanted = self.spat.check(
                roadside_pb2.StreamSpatRequest.FromString(request).intersection_ids
            )
        except (DecodeError, ValueError) as exc:
            if not isinstance(exc, UnknownIntersection):
                exc = ValueError(f"request is not a valid vicoop.v1.StreamSpatRequest: {exc}")
            await self._reject(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            return
        if self._closing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the RSU is shutting down")
        try:
            with self.streams.hold(peer_identity(context), "StreamSpat"):
                async for data in self.spat.updates(wanted):
                    yield data
        except TooManySubscribers as exc:
            await self._reject(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))

    def set_maps(self, maps: Iterable[IntersectionMap]) -> None:
        """The MAP served by ``GetMap`` from now on (each map encoded once, here)."""
        self.maps = {m.intersection_id: m for m in maps}
        self._map_entries = {i: map_to_proto(m).SerializeToString() for i, m in self.maps.items()}

    async def _get_map(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        problem = None
        wanted: tuple[str, ...] = ()
        try:
            ids = roadside_pb2.GetMapRequest.FromString(request).intersection_ids
            wanted = tuple(dict.fromkeys(ids))
        except (DecodeError, ValueError) as exc:
            problem = f"request is not a valid vicoop.v1.GetMapRequest: {exc}"
        else:
            unknown = next((i for i in wanted if i not in self._map_entries), None)
            if unknown is not None:
                problem = (
                    f"intersection_ids: {unknown[:64]!r} has no MAP on this RSU "
                    f"({', '.join(self._map_entries) or 'none'})"
                )
        if problem is not None:
            await self._reject(context, grpc.StatusCode.INVALID_ARGUMENT, problem)
            return b""  # not reached: the call is aborted
        head = roadside_pb2.GetMapResponse(rsu_id=self.site.rsu_id).SerializeToString()
        # GetMapResponse.intersections is field 2, length-delimited: tag 0x12.
        return head + b"".join(
            b"\x12" + varint(len(data)) + data
            for i, data in self._map_entries.items()
            if not wanted or i in wanted
        )

    async def _report_vehicle_state(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
    ) -> bytes:
        try:
            with self.streams.hold(peer_identity(context), "ReportVehicleState"):
                return await self._take_reports(requests, context)
        except TooManySubscribers as exc:
            await self._reject(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
            return b""  # not reached: the call is aborted

    async def _take_reports(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
    ) -> bytes:
        reporter = object()  # unique to this stream, also across server restarts
        identity = await self._identify(context)
        accepted = rejected = 0
        reasons: list[str] = []
        index = 0
        try:
            async for data in requests:
                try:
                    reason = self._one_report(data, f"report[{index}]", reporter, identity)
                except Unavailable as exc:  # e.g. a full disk: the vehicle may try again
                    await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
                index += 1
                if reason is None:
                    accepted += 1
                    continue
                rejected += 1
                if len(reasons) < MAX_REJECTIONS_RETURNED:
                    reasons.append(reason)
                log.debug("rejected a vehicle report from %s: %s", context.peer(), reason)
        finally:
            self.reports.release(reporter)
        return encode_report_response(accepted, rejected, reasons)

    async def _identify(self, context: grpc.aio.ServicerContext) -> VehicleIdentity | None:
        """The vehicle identity the stream proves (``vicoop.serving.identity``); the call is
        aborted UNAUTHENTICATED when its credential does not hold, or when it proves none and
        identities are required."""
        if self.authenticator is None:
            return None
        metadata = {
            k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)
        }
        names = context.auth_context().get("x509_common_name")
        cn = names[0].decode("utf-8", "replace") if names else None
        try:
            identity = self.authenticator.identify(metadata, cn, self.clock())
        except IdentityRefused as exc:
            self.reports.reject(f"credential_{exc.reason}")
            await self._reject(context, grpc.StatusCode.UNAUTHENTICATED, str(exc))
            return None  # not reached: the call is aborted
        if identity is None and self.authenticator.required:
            self.reports.reject("no_identity")
            await self._reject(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                "this RSU takes reports only from identified vehicles: present the twin's "
                "credential (authorization: Bearer ...) or a vehicle certificate",
            )
        return identity

    def _one_report(
        self, data: bytes, name: str, reporter: object, identity: VehicleIdentity | None = None
    ) -> str | None:
        """Take one report; None when accepted, else why it was rejected. ``Unavailable``
        from the callbacks ends the stream."""
        try:
            report = decode_report_request(data, name)
            if identity is not None:
                try:
                    check_identity(identity, report)
                except ReportRejected as exc:
                    self.reports.reject(exc.kind)
                    raise
            self.reports.submit(report, reporter, self.clock())
        except CodecError as exc:
            self.reports.reject("malformed")
            return str(exc)
        except ReportRejected as exc:
            if self.on_rejected is not None:
                self.on_rejected(report, exc)
            return f"{name}: {exc}"
        if self.on_report is not None:
            self.on_report(report)
        return None
