"""Limits on what one peer may hold open on the RSU's gRPC server.

``ConnectionLimits`` are the server's keepalive, idle and handshake limits (grpc channel
arguments) and the per-peer stream limit; ``PeerStreams`` counts the streams each peer holds
open across every streaming RPC (perception, zones, SPaT, vehicle reports). A peer is its
client certificate's CN under mutual TLS, else its IP address (``peer_identity``).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import grpc

from vicoop.serving.errors import TooManyStreams

__all__ = ["DEFAULT_LIMITS", "ConnectionLimits", "PeerStreams", "peer_identity"]


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The server's limits on connections and streams; times in seconds.

    ``max_streams_per_peer``: streams (of every streaming RPC together) one peer may hold open,
    None for no limit (no per-connection limit: grpc clients share one connection between
    their channels to one target); ``keepalive_time_s`` / ``keepalive_timeout_s``: the server pings an idle
    transport this often and drops it when a ping is not answered in time;
    ``min_ping_interval_s``: a client pinging more often without data gets strikes, and
    ``max_ping_strikes`` of them close its connection; ``max_connection_idle_s``: a connection
    with no call open this long is closed; ``handshake_timeout_s``: a connection that has not
    finished its (TLS and HTTP/2) handshake by then is closed.
    """

    max_streams_per_peer: int | None = None
    keepalive_time_s: float = 10.0
    keepalive_timeout_s: float = 5.0
    min_ping_interval_s: float = 5.0
    max_ping_strikes: int = 2
    max_connection_idle_s: float = 300.0
    handshake_timeout_s: float = 10.0

    def grpc_options(self) -> list[tuple[str, int]]:
        """The grpc server arguments for these limits."""

        def ms(seconds: float) -> int:
            return max(1, round(seconds * 1000))

        return [
            ("grpc.keepalive_time_ms", ms(self.keepalive_time_s)),
            ("grpc.keepalive_timeout_ms", ms(self.keepalive_timeout_s)),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", ms(self.min_ping_interval_s)),
            ("grpc.http2.max_ping_strikes", self.max_ping_strikes),
            # Pings the server itself sends without data in between: unlimited (0), so its
            # keepalive keeps probing a quiet stream.
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.max_connection_idle_ms", ms(self.max_connection_idle_s)),
            ("grpc.server_handshake_timeout_ms", ms(self.handshake_timeout_s)),
        ]


DEFAULT_LIMITS = ConnectionLimits()


def peer_identity(context: grpc.aio.ServicerContext) -> str:
    """Who is calling: ``cn:NAME`` for a verified client certificate, else ``ip:ADDRESS``
    (the port left out: every connection of one host is one peer)."""
    common_names = context.auth_context().get("x509_common_name")
    if common_names:
        return "cn:" + str(common_names[0].decode("utf-8", "replace"))
    peer = context.peer()  # ipv4:1.2.3.4:5678, ipv6:[::1]:5678, unix:/path
    scheme, _, address = peer.partition(":")
    if scheme in ("ipv4", "ipv6"):
        address = address.rpartition(":")[0].strip("[]")
    return f"ip:{address}"


class PeerStreams:
    """Streams open per peer, at most ``limit`` each (None: no limit); ``refused`` counts the
    streams refused, by peer."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.open: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()

    @contextlib.contextmanager
    def hold(self, peer: str, rpc: str) -> Iterator[None]:
        """One stream of ``peer`` for the ``with`` block; ``TooManyStreams`` when it already
        holds ``limit``."""
        if self.limit is not None and self.open[peer] >= self.limit:
            self.refused[peer] += 1
            raise TooManyStreams(
                f"{rpc}: {peer} already holds {self.open[peer]} streams, the limit per client "
                "across StreamPerception, StreamZones, StreamSpat and ReportVehicleState"
            )
        self.open[peer] += 1
        try:
            yield
        finally:
            self.open[peer] -= 1
            if not self.open[peer]:
                del self.open[peer]
