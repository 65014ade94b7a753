"""Which twin worker issues the zone commands: exactly one of those sharing a database.

Every worker receives every RSU status and acknowledgement and keeps its pending commands up to
date; only the leader sends them (``TwinIngest`` asks ``leader``). Leadership is a lock the
database hands to one holder (``Store.leader_lock()``: a PostgreSQL session-level advisory lock
on a connection of its own; a lock file beside a SQLite file): the worker that holds it leads;
the others try again every ``retry_s`` seconds, so when the leader stops or dies (its connection
closes, the database lets the lock go) another takes over within about ``retry_s``. The leader
checks as often that it still holds the lock (its connection lives) and steps down when not.

Commands are versioned and idempotent on the RSU, so the short overlap possible when a leader
loses its database connection while still sending (at most one ``retry_s``) changes nothing an
RSU holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cloud.store import LeaderLock
from vicoop.supervise import Supervisor

log = logging.getLogger(__name__)


class Leadership:
    """``leader`` says whether this worker leads now; ``on_change(leader)`` is called when
    that changes (``changes`` counts it). ``start()`` makes the first attempt before it
    returns (a lone worker leads from its first moment), then keeps trying under a
    supervisor; ``stop()`` lets the lock go."""

    def __init__(
        self,
        lock: LeaderLock,
        *,
        retry_s: float,
        on_change: Callable[[bool], None] | None = None,
        owner: str = "twin",
        on_failure: Callable[[str, BaseException | None], None] | None = None,
    ) -> None:
        self.lock = lock
        self.retry_s = retry_s
        self.on_change = on_change or (lambda leader: None)
        self.owner = owner
        self.leader = False
        self.changes = 0
        self.supervisor = Supervisor(f"leader-{owner}", on_failure=on_failure)

    async def start(self) -> None:
        await self._check()
        self.supervisor.spawn("leadership", self._run)

    async def stop(self) -> None:
        await self.supervisor.stop()
        await asyncio.to_thread(self.lock.release)
        self.leader = False

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.retry_s)
            await self._check()

    async def _check(self) -> None:
        held = await asyncio.to_thread(self.lock.hold)
        if held != self.leader:
            self.leader = held
            self.changes += 1
            log.info("%s %s the leader", self.owner, "is now" if held else "is no longer")
            self.on_change(held)
