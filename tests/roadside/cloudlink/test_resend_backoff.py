"""Backoff per outbox message: a twin that never receipts sees one message resent after
resend_after_s, then twice as long each time (logarithmically many sends, not one every
resend_after_s); a reconnection sends what waits at once and starts its backoff over."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from roadside.cloudlink import CloudLink, CloudLinkConfig
from tests.conftest import RSU_COMMAND_KEYS, KillableBroker, until
from vicoop.backoff import Backoff
from vicoop.cloudmodel import Event, EventKind
from vicoop.model import GeodeticOrigin

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)


def test_the_delay_of_a_counted_retry_doubles_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=0.5, factor=2.0, max_s=60.0, jitter=0.0)
    rng = random.Random(0)
    assert [backoff.delay(n, rng) for n in range(9)] == [0.5, 1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay(10**6, rng) == 60.0  # no overflow however often it was tried
    jittered = Backoff(initial_s=1.0, factor=2.0, max_s=60.0, jitter=0.2)
    assert all(3.2 <= jittered.delay(2, rng) <= 4.8 for _ in range(100))


async def test_a_twin_that_never_receipts_gets_few_resends_and_all_after_a_reconnect(
    killable_broker: KillableBroker, tmp_path: Path
) -> None:
    # No twin at all: the broker acknowledges every publish, nobody sends a receipt.
    config = CloudLinkConfig(
        command_keys=RSU_COMMAND_KEYS,
        enabled=True,
        mqtt_url=killable_broker.url,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
        resend_after_s=0.1,
        resend_max_s=60.0,
        status_interval_s=5.0,
    )
    link = CloudLink(config, "rsu-backoff", ORIGIN)
    await link.start()
    try:
        await until(lambda: link.session.stats.connected, "the link connected")
        loop = asyncio.get_running_loop()
        started = loop.time()
        link.emit(Event(EventKind.OTHER, time.time_ns(), detail="never receipted"))
        await until(lambda: link.stats.outbox_sent >= 1, "the first send")
        await asyncio.sleep(6.0)
        sends = link.stats.outbox_sent
        elapsed = loop.time() - started
        # Every resend_after_s (0.1 s) that would be about 60 sends; doubling waits give
        # log2(6 / 0.1) + 1, about 7. A slow machine only makes fewer.
        assert 3 <= sends <= 10, f"{sends} sends in {elapsed:.1f} s"
        ((_, _, attempts),) = link.outbox.due(2**62)
        assert attempts == sends

        # The broker restarts: the message goes again at once, its backoff started over.
        await killable_broker.kill()
        await until(lambda: not link.session.stats.connected, "the link saw the broker go")
        await killable_broker.start()
        await until(lambda: link.stats.outbox_sent > sends, "the resend after reconnecting")
        assert link.session.stats.connections == 2
        # Its next wait would have been over 5 s; it went on the new connection at once, and
        # its sends count from zero again.
        assert link.outbox.due(2**62)[0][2] < attempts
        assert link.outbox.pending() == 1
    finally:
        await link.stop()
