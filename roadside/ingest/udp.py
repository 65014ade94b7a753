"""A UDP endpoint that feeds every datagram to an ``Ingest`` (asyncio, the only async part)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from vicoop.errors import StartupError

log = logging.getLogger(__name__)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, ingest: Any) -> None:
        self.ingest = ingest

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            self.ingest.feed(data)
        except Exception:  # a bug in a sink must not stop the socket
            self.ingest.stats.rejected["sink_error"] += 1
            log.exception("handling a datagram from %s failed", addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("UDP receive error: %s", exc)


class UdpEndpoint:
    """Listens on ``host:port`` (0 picks a free port; ``port`` tells which after ``start``)."""

    def __init__(self, ingest: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ingest = ingest
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
                lambda: _Protocol(self.ingest), local_addr=(self.host, self.requested_port)
            )
        except OSError as exc:
            raise StartupError(
                f"cannot listen on udp {self.host}:{self.requested_port}: {exc.strerror or exc}"
            ) from None

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
