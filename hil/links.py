"""Links between the rig and the stack, with faults: sensor datagrams and the vehicle link.

``LossyLink`` is pure: given a datagram and the time it would arrive, it says when (if ever) and
how often it arrives -- lost with ``loss``, held back by ``reorder_delay_ns`` with ``reorder``
(so later datagrams overtake it), duplicated with ``duplicate``. The rig sends what it returns at
those times (wall time in real time, simulation time in lock-step).

``TcpProxy`` sits between vehicle clients and an RSU's gRPC port: it forwards bytes both ways,
each chunk held for ``delay_s``; ``down()`` cuts every connection and refuses new ones until
``up()`` (a radio link that drops out; TCP cannot lose single packets as seen from above it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class LossyLink:
    """Loss, reordering and duplication of datagrams (probabilities in [0, 1])."""

    loss: float = 0.0
    reorder: float = 0.0
    reorder_delay_ns: int = 30_000_000
    duplicate: float = 0.0
    sent: int = 0
    lost: int = 0
    reordered: int = 0

    @property
    def clean(self) -> bool:
        return self.loss == 0 and self.reorder == 0 and self.duplicate == 0

    def route(self, arrive_ns: int, rng: np.random.Generator) -> list[int]:
        """The times a datagram due at ``arrive_ns`` arrives (empty: lost)."""
        self.sent += 1
        if self.clean:
            return [arrive_ns]
        if rng.random() < self.loss:
            self.lost += 1
            return []
        t = arrive_ns
        if rng.random() < self.reorder:
            self.reordered += 1
            t += self.reorder_delay_ns
        return [t, t + 1_000_000] if rng.random() < self.duplicate else [t]


class TcpProxy:
    """Forwards ``host:port`` (0 picks one; ``port`` after ``start``) to ``upstream``."""

    def __init__(
        self, upstream_host: str, upstream_port: int, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.requested_port = port
        self.delay_s = 0.0
        self.is_down = False
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            return self.requested_port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.requested_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._cut()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    def down(self) -> None:
        """Cut every connection and refuse new ones."""
        self.is_down = True
        self._cut()

    def up(self) -> None:
        self.is_down = False

    def _cut(self) -> None:
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for p in pumps:
                p.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._tasks.difference_update(pumps)
            for w in (writer, up_writer):
                self._writers.discard(w)
                with contextlib.suppress(Exception):
                    w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                release, data = await queue.get()
                wait = release - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.delay_s <= 0 and queue.empty():
                    writer.write(data)
                    await writer.drain()
                else:
                    queue.put_nowait((time.monotonic() + self.delay_s, data))
        except (ConnectionError, OSError):
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await sender
