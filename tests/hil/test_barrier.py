"""The lock-step barrier against a fake stepped RSU and fake vehicle clients."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from hil.barrier import LockstepBarrier
from hil.errors import HilError


@dataclass
class FakeClient:
    connected: bool = True
    last_sequence: int = 0
    reading: bool = True


@dataclass
class FakeRsu:
    """Takes every datagram at once and delivers each tick to its reading clients on the
    event loop (as the gRPC fan-out does)."""

    clients: list[FakeClient] = field(default_factory=list)
    handled: int = 0
    sequence: int = 0
    running: bool = True
    target: str = "127.0.0.1:1"
    host: str = "127.0.0.1"

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False

    def datagrams_handled(self) -> int:
        return self.handled

    async def spat_at(self, t_ns: int) -> int | None:
        return None

    def publish_at(self, t_ns: int) -> int | None:
        self.sequence += 1
        sequence = self.sequence

        def deliver() -> None:
            for c in self.clients:
                if c.reading:
                    c.last_sequence = sequence

        asyncio.get_running_loop().call_soon(deliver)
        return sequence


async def test_a_step_waits_until_every_client_has_the_tick() -> None:
    clients = [FakeClient(), FakeClient()]
    rsu = FakeRsu(clients)
    barrier = LockstepBarrier()
    barrier.add(rsu, clients)
    for k in range(5):
        rsu.handled += 3  # the datagrams of this step, taken
        await barrier.step(k * 100, rsu.handled - 3, 3)
        assert [c.last_sequence for c in clients] == [k + 1, k + 1]
        assert k * 100 in barrier.published_wall
    assert barrier.timeouts == 0


async def test_a_client_that_stops_reading_costs_a_timeout_unless_it_is_the_stalled_one() -> None:
    reading, stalled = FakeClient(), FakeClient(reading=False)
    rsu = FakeRsu([reading, stalled])
    barrier = LockstepBarrier(timeout_s=0.05)
    barrier.add(rsu, [reading, stalled], stalled=stalled)
    await barrier.step(0, 0, 0)
    assert barrier.timeouts == 0 and reading.last_sequence == 1

    other = LockstepBarrier(timeout_s=0.05)
    other.add(rsu, [reading, stalled])
    await other.step(1, 0, 0)
    assert other.timeouts == 1


async def test_a_stopped_rsu_holds_no_step() -> None:
    client = FakeClient()
    rsu = FakeRsu([client], running=False)
    barrier = LockstepBarrier()
    barrier.add(rsu, [client])
    await barrier.step(0, 0, 5)  # five datagrams nobody takes
    assert barrier.timeouts == 0


async def test_connect_publishes_until_every_client_is_connected() -> None:
    late = FakeClient(connected=False)
    rsu = FakeRsu([late])
    barrier = LockstepBarrier()
    barrier.add(rsu, [late])
    asyncio.get_running_loop().call_later(0.1, setattr, late, "connected", True)
    await barrier.connect(-1)
    assert rsu.sequence >= 1

    never = FakeClient(connected=False)
    lonely = LockstepBarrier()
    lonely.add(FakeRsu([never]), [never])
    with pytest.raises(HilError, match="could not connect"):
        await lonely.connect(-1, timeout_s=0.1)
