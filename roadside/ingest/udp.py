"""A UDP endpoint that feeds every datagram, with the RSU's clock at receive time, to an
``Ingest`` (asyncio, the only async part)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from vicoop.errors import StartupError

log = logging.getLogger(__name__)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, ingest: Any, clock: Callable[[], int]) -> None:
        self.ingest = ingest
        self.clock = clock

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            self.ingest.feed(data, self.clock())
        except Exception:  # a bug in a sink must not stop the socket
            self.ingest.stats.rejected["sink_error"] += 1
            log.exception("handling a datagram from %s failed", addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("UDP receive error: %s", exc)


class UdpEndpoint:
    """Listens on ``host:port`` (0 picks a free port; ``port`` tells which after ``start``);
    ``clock`` (ns since the Unix epoch) stamps each datagram's receive time."""

    def __init__(
        self,
        ingest: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.ingest = ingest
        self.clock = clock
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
                lambda: _Protocol(self.ingest, self.clock),
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
