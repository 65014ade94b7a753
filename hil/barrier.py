"""The lock-step barrier: simulation time moves on only when the whole stack has caught up.

Each step, after the rig has sent the sensor datagrams due by then: wait until the RSUs have
taken every one, publish each RSU's tick for that time, and wait until every vehicle client has
received it. A wait that does not finish within ``timeout_s`` (wall time) gives up and is counted
(``timeouts``), so a stopped RSU or a client that went away cannot hold the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from hil.errors import HilError
from hil.rsu import RsuHandle

__all__ = ["LockstepBarrier", "Subscriber"]


class Subscriber(Protocol):
    """A vehicle client as the barrier sees it (``hil.participants.Probe``)."""

    @property
    def connected(self) -> bool: ...

    @property
    def last_sequence(self) -> int:
        """The sequence of the last frame it received."""
        ...


@dataclass
class _Lane:
    rsu: RsuHandle
    probes: Sequence[Subscriber]
    stalled: Subscriber | None
    published: int = 0  # the sequence of the last frame published


@dataclass
class LockstepBarrier:
    """Holds simulation time until every RSU and vehicle client has caught up with it.

    ``published_wall`` is the wall time (ns) at which each tick (simulation ns) was published:
    the vehicle clients read their lock-step latency from it."""

    timeout_s: float = 1.0
    published_wall: dict[int, int] = field(default_factory=dict)
    timeouts: int = 0
    _lanes: list[_Lane] = field(default_factory=list)

    def add(
        self, rsu: RsuHandle, probes: Sequence[Subscriber], stalled: Subscriber | None = None
    ) -> None:
        """Step ``rsu`` and wait for its clients ``probes``; ``stalled`` among them, a client
        that stops reading on purpose, must connect but is not waited for each tick."""
        self._lanes.append(_Lane(rsu, probes, stalled))

    def datagrams_handled(self) -> int:
        """Datagrams every RSU has taken so far."""
        return sum(lane.rsu.datagrams_handled() for lane in self._lanes)

    def publish(self, t_ns: int) -> None:
        """Publish every RSU's tick for ``t_ns`` (simulation ns) now."""
        for lane in self._lanes:
            wall = time.time_ns()
            sequence = lane.rsu.publish_at(t_ns)
            if sequence is not None:
                self.published_wall[t_ns] = wall
                lane.published = sequence

    async def connect(self, t_ns: int, timeout_s: float = 30.0) -> None:
        """Publish a tick for ``t_ns`` until every client has it, so none misses the start."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.publish(t_ns)
            await asyncio.sleep(0.05)
            if all(p.connected for lane in self._lanes for p in lane.probes):
                return
        raise HilError("vehicle clients could not connect to the RSU")

    async def step(self, t_ns: int, handled_before: int, sent: int) -> None:
        """Wait until the RSUs took the ``sent`` datagrams (counted from ``handled_before``),
        publish the tick for ``t_ns`` and wait until every connected client received it."""
        if sent:
            deadline = time.monotonic() + self.timeout_s
            while self.datagrams_handled() - handled_before < sent:
                running = all(lane.rsu.running for lane in self._lanes)
                if not running or time.monotonic() > deadline:
                    break
                early = deadline - time.monotonic() > 0.9 * self.timeout_s
                await asyncio.sleep(0.0005 if early else 0.002)
        self.publish(t_ns)
        await asyncio.sleep(0)
        deadline = time.monotonic() + self.timeout_s
        while any(self._waiting()):
            if time.monotonic() > deadline:
                self.timeouts += 1
                break
            await asyncio.sleep(0.0002)

    def _waiting(self) -> list[Subscriber]:
        return [
            p
            for lane in self._lanes
            if lane.rsu.running
            for p in lane.probes
            if p is not lane.stalled and p.connected and p.last_sequence < lane.published
        ]
