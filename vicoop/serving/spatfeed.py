"""The SPaT of an RSU's intersections, fanned out to ``StreamSpat`` subscribers.

``publish`` is synchronous and never waits: each intersection's ``IntersectionSpat`` is encoded
once, and a subscriber's ``StreamSpatResponse`` is joined from the entries of the intersections
it asked for (fields in ascending number, as protobuf's own serializer writes them, so every
decoder reads it). The RSU publishes at 10 Hz and at every change; a subscriber that falls
behind skips straight to the newest response, and the sequence gap says how many it missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable

from protos.vicoop.v1 import roadside_pb2
from vicoop.codec_spat import spat_to_proto
from vicoop.serving.encoding import varint
from vicoop.spat import Spat

_INTERSECTIONS_TAG = b"\x1a"  # StreamSpatResponse.intersections: field 3, length-delimited


class UnknownIntersection(ValueError):
    """A subscriber asked for an intersection the RSU does not serve."""


class SpatFeed:
    """The latest SPaT of each of ``intersection_ids`` (the RSU's intersections)."""

    def __init__(self, rsu_id: str, intersection_ids: Iterable[str]) -> None:
        self.rsu_id = rsu_id
        self.intersection_ids = tuple(intersection_ids)
        self.sequence = 0
        self.latest: dict[str, Spat] = {}
        self._entries: dict[str, bytes] = {}
        self._waiters: set[asyncio.Event] = set()
        self._generation = 0
        # Called after every publish (the RSU's cloud link wakes to relay the SPaT to the twin).
        self.listeners: list[Callable[[], None]] = []

    @property
    def subscriber_count(self) -> int:
        return len(self._waiters)

    def publish(self, spats: Iterable[Spat]) -> None:
        """The intersections' SPaT now (those not given keep their last one); subscribers wake."""
        for spat in spats:
            if spat.intersection_id not in self.intersection_ids:
                raise UnknownIntersection(
                    f"SPaT for intersection {spat.intersection_id!r}, which this RSU does not "
                    f"serve ({', '.join(self.intersection_ids) or 'none'})"
                )
            data = spat_to_proto(spat).SerializeToString()
            self.latest[spat.intersection_id] = spat
            self._entries[spat.intersection_id] = _INTERSECTIONS_TAG + varint(len(data)) + data
        self.sequence += 1
        for waiter in self._waiters:
            waiter.set()
        for listener in self.listeners:
            listener()

    def response(self, wanted: tuple[str, ...]) -> bytes:
        """The encoded ``StreamSpatResponse`` for the intersections ``wanted`` (all when empty)."""
        head = roadside_pb2.StreamSpatResponse(
            rsu_id=self.rsu_id, sequence=self.sequence
        ).SerializeToString()
        ids = wanted or self.intersection_ids
        return head + b"".join(self._entries[i] for i in ids if i in self._entries)

    def check(self, wanted: Iterable[str]) -> tuple[str, ...]:
        """``wanted`` as a tuple, or ``UnknownIntersection`` naming the first one not served."""
        wanted = tuple(dict.fromkeys(wanted))
        for intersection_id in wanted:
            if intersection_id not in self.intersection_ids:
                raise UnknownIntersection(
                    f"intersection_ids: {intersection_id[:64]!r} is not an intersection of this RSU "
                    f"({', '.join(self.intersection_ids) or 'none'})"
                )
        return wanted

    def close_all(self) -> None:
        """At shutdown: every open subscription ends (later ones are served again)."""
        self._generation += 1
        for waiter in self._waiters:
            waiter.set()

    async def updates(self, wanted: tuple[str, ...] = ()) -> AsyncIterator[bytes]:
        """The newest response now (once anything is published), then at every publish, until
        ``close_all``."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        generation = self._generation
        try:
            sent = 0
            while generation == self._generation:
                if self.sequence != sent:
                    sent = self.sequence
                    yield self.response(wanted)
                    continue
                waiter.clear()
                await waiter.wait()
        finally:
            self._waiters.discard(waiter)
