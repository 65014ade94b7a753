"""A supervised task that fails or returns is logged, counted and started again; only stop()
ends it quietly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.conftest import until
from vicoop.backoff import Backoff
from vicoop.supervise import Supervisor

FAST = Backoff(initial_s=0.01, max_s=0.02, jitter=0.0)


async def test_a_failing_task_is_logged_counted_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    alarms: list[tuple[str, str]] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) <= 2:
            raise ValueError(f"run {len(runs)} broke")
        await asyncio.sleep(3600)

    supervisor = Supervisor(
        "rsu-test", backoff=FAST, on_failure=lambda name, exc: alarms.append((name, repr(exc)))
    )
    with caplog.at_level(logging.ERROR, logger="vicoop.supervise"):
        supervisor.spawn("sender", flaky)
        await until(lambda: len(runs) == 3, "the third run")
    stats = supervisor.stats["sender"]
    assert (stats.failures, stats.restarts, stats.running) == (2, 2, True)
    assert stats.last_error == "ValueError: run 2 broke"
    assert alarms == [
        ("sender", "ValueError('run 1 broke')"),
        ("sender", "ValueError('run 2 broke')"),
    ]
    assert sum("task sender failed" in r.getMessage() for r in caplog.records) == 2
    assert supervisor.failures == 2
    await supervisor.stop()
    assert not stats.running


async def test_a_task_that_returns_is_an_early_return_and_restarted() -> None:
    runs = 0

    async def quitter() -> None:
        nonlocal runs
        runs += 1
        if runs > 1:
            await asyncio.sleep(3600)

    supervisor = Supervisor("twin", backoff=FAST)
    supervisor.spawn("commands", quitter)
    await until(lambda: runs == 2, "the second run")
    assert supervisor.stats["commands"].early_returns == 1
    await supervisor.stop()


async def test_stop_is_quiet_and_names_are_unique() -> None:
    supervisor = Supervisor("twin", backoff=FAST)
    supervisor.spawn("a", lambda: asyncio.sleep(3600))
    with pytest.raises(ValueError, match="already runs a task named 'a'"):
        supervisor.spawn("a", lambda: asyncio.sleep(3600))
    await supervisor.stop()
    assert supervisor.failures == 0
