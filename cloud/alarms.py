"""Alarms an operator can read: a supervised task that failed or ended unexpectedly.

The supervisor (``vicoop.supervise``) has already logged it with its traceback and restarts the
task; ``Alarms`` makes it something an operator sees without reading logs: counted by source and
task (``vicoop_twin_alarms_total``), pushed to the live feed (``alarm``) and stored
(``GET /api/v1/alarms``). Its sources are the twin's own supervisors (``task_failed``, their
``on_failure`` hook) and the RSUs, whose task failures arrive as ``TASK_FAILED`` events through
their outboxes (``from_rsu``).

The hooks are synchronous (the supervisor calls them from the event loop); the store write runs
in a worker thread, so a slow or unreachable database delays no task, and a write that fails is
logged and counted (``store_errors``), never raised into the supervisor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from cloud.store import Store

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], None]


def describe(error: BaseException | None) -> str:
    """The text an alarm stores for ``error``: type and first line of the message of each
    exception it stands for (a task group's are unwrapped), empty for an early return."""
    if error is None:
        return ""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(e) for e in error.exceptions)
    first = str(error).strip().splitlines()[:1]
    return f"{type(error).__name__}: {first[0] if first else ''}"[:1000]


class Alarms:
    """The alarms of one twin worker (``source``: ``twin <worker id>``)."""

    def __init__(
        self,
        store: Store,
        source: str,
        *,
        notify: Notify | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.store = store
        self.source = source
        self.notify = notify or (lambda kind, data: None)
        self.clock = clock
        self.counts: Counter[tuple[str, str]] = Counter()  # (source, task) -> alarms
        self.store_errors = 0
        self._writes: set[asyncio.Task[None]] = set()

    def task_failed(self, task: str, error: BaseException | None) -> None:
        """A supervisor's ``on_failure`` hook: one of this worker's tasks failed or ended."""
        self.raise_alarm(self.source, task, describe(error) or "ended unexpectedly")

    def from_rsu(self, rsu_id: str, detail: str, at_ns: int) -> None:
        """An RSU's ``TASK_FAILED`` event (``detail``: ``task: error``)."""
        task, _, error = detail.partition(": ")
        self.raise_alarm(rsu_id, task, error, at_ns)

    def raise_alarm(self, source: str, task: str, error: str, at_ns: int | None = None) -> None:
        """Count, announce and store one alarm (the store write in the background)."""
        at = self.clock() if at_ns is None else at_ns
        self.counts[(source, task)] += 1
        self.notify("alarm", {"source": source, "task": task, "error": error, "at_ns": at})
        write = asyncio.get_running_loop().create_task(self._store(at, source, task, error))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def _store(self, at_ns: int, source: str, task: str, error: str) -> None:
        try:
            await asyncio.to_thread(self.store.add_alarm, at_ns, source, task, error)
        except Exception:  # the database may be what failed: logged, counted, never raised
            self.store_errors += 1
            log.exception("cannot store the alarm of %s task %s", source, task)

    async def drain(self) -> None:
        """Wait for the alarm writes in flight (before the store closes)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
