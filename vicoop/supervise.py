"""Supervised background tasks: nothing a daemon runs in the background ends in silence.

Every long-lived coroutine of a daemon (a publish loop, an MQTT session, a sender) runs under a
``Supervisor``. A task that raises is logged with its traceback, counted and started again after
a backoff; one that returns while it was meant to run for good is treated the same way. The
counts (``TaskStats``) are what the daemons' metrics export as task failures and restarts, so an
operator is alarmed by a number, not by a frozen picture. Cancellation (``stop()``) is the only
quiet end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass

from vicoop.backoff import Backoff

log = logging.getLogger(__name__)

TaskFactory = Callable[[], Coroutine[object, object, None]]


@dataclass(slots=True)
class TaskStats:
    """One supervised task: ``failures`` ends by an exception, ``early_returns`` ends by
    returning, ``restarts`` starts after either; ``last_error`` the latest exception's text."""

    name: str
    running: bool = False
    failures: int = 0
    early_returns: int = 0
    restarts: int = 0
    last_error: str = ""


class Supervisor:
    """Starts named tasks and keeps them running until ``stop()``.

    ``spawn(name, factory)`` runs ``factory()``; whenever that coroutine ends other than by
    cancellation, the supervisor logs it (``log.error`` with the traceback), counts it in
    ``stats[name]`` and calls ``factory()`` again after the next of ``backoff``'s delays (the
    sequence starts over once a run has lasted ``healthy_after_s``). ``on_failure(name, exc)``,
    if given, is called too (``exc`` is None for an early return): the daemon's alarm hook.
    """

    def __init__(
        self,
        owner: str,
        *,
        backoff: Backoff = Backoff(initial_s=0.1, max_s=5.0),
        healthy_after_s: float = 10.0,
        on_failure: Callable[[str, BaseException | None], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.owner = owner
        self.backoff = backoff
        self.healthy_after_s = healthy_after_s
        self.on_failure = on_failure
        self.stats: dict[str, TaskStats] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._rng = rng or random.Random()

    def spawn(self, name: str, factory: TaskFactory) -> None:
        if name in self._tasks:
            raise ValueError(f"{self.owner} already runs a task named {name!r}")
        self.stats[name] = TaskStats(name)
        self._tasks[name] = asyncio.create_task(
            self._keep(name, factory), name=f"{self.owner}:{name}"
        )

    @property
    def failures(self) -> int:
        """Failures and early returns of every task so far."""
        return sum(s.failures + s.early_returns for s in self.stats.values())

    async def stop(self) -> None:
        """Cancel every task and wait for each to end."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep(self, name: str, factory: TaskFactory) -> None:
        stats = self.stats[name]
        loop = asyncio.get_running_loop()
        delays = self.backoff.delays(self._rng)
        while True:
            started = loop.time()
            stats.running = True
            error: BaseException | None = None
            try:
                await factory()
            except asyncio.CancelledError:
                stats.running = False
                raise
            except Exception as exc:  # supervised: logged, counted, restarted
                error = exc
                stats.failures += 1
                stats.last_error = f"{type(exc).__name__}: {exc}"
                log.error("%s: task %s failed; restarting it", self.owner, name, exc_info=exc)
            else:
                stats.early_returns += 1
                log.error("%s: task %s ended unexpectedly; restarting it", self.owner, name)
            stats.running = False
            if self.on_failure is not None:
                try:
                    self.on_failure(name, error)
                except Exception:
                    log.exception("%s: the failure hook for %s failed", self.owner, name)
            if loop.time() - started >= self.healthy_after_s:
                delays = self.backoff.delays(self._rng)
            await asyncio.sleep(next(delays))
            stats.restarts += 1
