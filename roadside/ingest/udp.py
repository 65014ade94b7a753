"""A UDP endpoint that feeds every datagram, with the RSU's clock at receive time, to an
``Ingest`` (asyncio, the only async part), after its ``DatagramGuard`` (source allowlist, HMAC
trailer: ``roadside.ingest.trust``) has let it through; a datagram the guard refuses is counted
by reason in the ingest's stats and never decoded."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from roadside.ingest.base import ParseError
from roadside.ingest.trust import DatagramGuard
from vicoop.errors import StartupError

log = logging.getLogger(__name__)


Reject = Callable[[ParseError, int], None]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(
        self, ingest: Any, clock: Callable[[], int], guard: DatagramGuard, reject: Reject
    ) -> None:
        self.ingest = ingest
        self.clock = clock
        self.guard = guard
        self.reject = reject

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        now = self.clock()
        try:
            data = self.guard.check(data, (str(addr[0]), int(addr[1])))
        except ParseError as exc:
            self.reject(exc, now)
            return
        try:
            self.ingest.feed(data, now)
        except Exception:  # a bug in a sink must not stop the socket
            self.ingest.stats.rejected["sink_error"] += 1
            log.exception("handling a datagram from %s failed", addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("UDP receive error: %s", exc)


class UdpEndpoint:
    """Listens on ``host:port`` (0 picks a free port; ``port`` tells which after ``start``);
    ``clock`` (ns since the Unix epoch) stamps each datagram's receive time; ``guard`` decides
    which datagrams reach ``ingest.feed`` (default: all), and ``reject`` counts the others
    (default: ``ingest.stats.reject``)."""

    def __init__(
        self,
        ingest: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], int] = time.time_ns,
        *,
        guard: DatagramGuard | None = None,
        reject: Reject | None = None,
    ) -> None:
        self.ingest = ingest
        self.clock = clock
        self.guard = guard or DatagramGuard()
        self.reject = reject or ingest.stats.reject
        self.host = host
        self.requested_port = port
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        """The bound port; the requested one before ``start``."""
        if self._transport is None:
            return self.requested_port
        return int(self._transport.get_extra_info("sockname")[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self.ingest, self.clock, self.guard, self.reject),
                local_addr=(self.host, self.requested_port),
            )
        except OSError as exc:
            raise StartupError(
                f"cannot listen on udp {self.host}:{self.requested_port}: {exc.strerror or exc}"
            ) from None

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
