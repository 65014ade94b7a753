"""The zones an RSU holds, fanned out to ``StreamZones`` subscribers.

``set`` is synchronous and never waits: the set is encoded once, and every subscriber wakes to
send the latest encoding (a subscriber that falls behind skips straight to the newest set, which
is all it needs, since each response carries every zone).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from vicoop.serving.encoding import encode_zone_set
from vicoop.zones import ZoneSet


class ZoneFeed:
    """The current ``ZoneSet`` and its encoded ``StreamZonesResponse``."""

    def __init__(self, zone_set: ZoneSet | None = None) -> None:
        self.zone_set = zone_set or ZoneSet()
        self._encoded = encode_zone_set(self.zone_set)
        self._waiters: set[asyncio.Event] = set()
        self._generation = 0

    @property
    def subscriber_count(self) -> int:
        return len(self._waiters)

    def set(self, zone_set: ZoneSet) -> None:
        """Replace the set (its revision must rise for subscribers to resend)."""
        self.zone_set = zone_set
        self._encoded = encode_zone_set(zone_set)
        for waiter in self._waiters:
            waiter.set()

    def close_all(self) -> None:
        """At shutdown: every open subscription ends (later ones are served again)."""
        self._generation += 1
        for waiter in self._waiters:
            waiter.set()

    async def updates(self) -> AsyncIterator[bytes]:
        """The encoded set now, then again at every change, until ``close_all``."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        generation = self._generation
        try:
            sent = -1
            while generation == self._generation:
                if self.zone_set.revision != sent:
                    sent = self.zone_set.revision
                    yield self._encoded
                    continue
                waiter.clear()
                await waiter.wait()
        finally:
            self._waiters.discard(waiter)
