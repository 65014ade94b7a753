"""Fan-out of perception frames to subscribers, each with a bounded latest-wins queue.

``publish`` is synchronous and never waits on a subscriber: a frame is encoded once, filtered
per subscriber, and appended to each subscriber's queue; when a queue is full its oldest frame
is dropped and counted. A slow or stuck vehicle therefore never delays the publisher or other
vehicles. Subscribers with the same subscription share the filtered bytes of each frame.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from vicoop.model import ObjectClass, PerceptionFrame, Subscription
from vicoop.serving.encoding import EncodedFrame
from vicoop.serving.errors import TooManyFilters, TooManySubscribers
from vicoop.serving.filtering import SubscriptionFilter


class Subscriber:
    """One subscription's queue. Created by ``PerceptionHub.subscribe``."""

    def __init__(self, sub_id: int, filter_: SubscriptionFilter, queue_frames: int) -> None:
        self.id = sub_id
        self.filter = filter_
        self.delivered = 0
        self.dropped = 0
        self._queue: deque[bytes] = deque(maxlen=queue_frames)
        self._ready = asyncio.Event()
        self._closed = False

    @property
    def client_id(self) -> str:
        return self.filter.subscription.client_id

    def offer(self, data: bytes) -> None:
        """Queue a frame; when the queue is full the oldest frame is dropped (latest wins)."""
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(data)
        self._ready.set()

    async def next(self) -> bytes | None:
        """The next frame's bytes, waiting for one; None once the subscriber is closed."""
        while not self._queue:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        self.delivered += 1
        return self._queue.popleft()

    def close(self) -> None:
        """End the subscription: ``next`` returns what is queued, then None."""
        self._closed = True
        self._ready.set()


@dataclass(frozen=True, slots=True)
class HubStats:
    """Counters since the hub started."""

    subscribers: int
    frames_published: int
    frames_delivered: int
    frames_dropped: int
    subscriptions_total: int


class PerceptionHub:
    """Publishes frames to any number of subscribers."""

    def __init__(
        self,
        publish_rate_hz: float,
        queue_frames: int = 4,
        max_subscribers: int = 2000,
        max_filters: int = 64,
    ) -> None:
        self.publish_rate_hz = publish_rate_hz
        self.queue_frames = queue_frames
        self.max_subscribers = max_subscribers
        # Distinct (region, classes) filters: each costs a test of every object every tick, and
        # subscribers with the same one share it, so this bounds the tick's filtering work.
        self.max_filters = max_filters
        self._filters: Counter[tuple[object, frozenset[ObjectClass]]] = Counter()
        self._subscribers: dict[int, Subscriber] = {}
        self._ids = itertools.count(1)
        self._published = 0
        self._subscriptions_total = 0
        # Counters of subscribers that have gone, so the totals survive them.
        self._gone_delivered = 0
        self._gone_dropped = 0

    @contextmanager
    def subscribe(self, subscription: Subscription) -> Iterator[Subscriber]:
        """Register a subscriber for the life of the ``with`` block."""
        if len(self._subscribers) >= self.max_subscribers:
            raise TooManySubscribers(
                f"this RSU serves at most {self.max_subscribers} subscribers at once"
            )
        filter_ = SubscriptionFilter(subscription, self.publish_rate_hz)
        key = None if filter_.passes_everything else (subscription.region, subscription.classes)
        if key is not None and key not in self._filters and len(self._filters) >= self.max_filters:
            raise TooManyFilters(
                f"this RSU filters for at most max_filters {self.max_filters} distinct regions "
                "and class sets at once; subscribe with one already in use or none"
            )
        subscriber = Subscriber(next(self._ids), filter_, self.queue_frames)
        self._subscribers[subscriber.id] = subscriber
        if key is not None:
            self._filters[key] += 1
        self._subscriptions_total += 1
        try:
            yield subscriber
        finally:
            subscriber.close()
            del self._subscribers[subscriber.id]
            if key is not None:
                self._filters[key] -= 1
                if not self._filters[key]:
                    del self._filters[key]
            self._gone_delivered += subscriber.delivered
            self._gone_dropped += subscriber.dropped

    def publish(self, frame: PerceptionFrame) -> None:
        """Encode ``frame`` once and queue it for every subscriber it is due for."""
        self._published += 1
        encoded = EncodedFrame(frame)
        # Subscribers asking for the same region and classes share the filtered bytes.
        shared: dict[tuple[object, frozenset[object]], bytes] = {}
        for subscriber in list(self._subscribers.values()):
            filter_ = subscriber.filter
            if not filter_.due(frame.valid_at_ns):
                continue
            if filter_.passes_everything:
                subscriber.offer(encoded.all_objects)
                continue
            key = (filter_.subscription.region, filter_.subscription.classes)
            data = shared.get(key)
            if data is None:
                data = shared[key] = encoded.subset(filter_.select(frame).tolist())
            subscriber.offer(data)

    def close_all(self) -> None:
        """End every subscription (at shutdown): their streams finish what is queued."""
        for subscriber in list(self._subscribers.values()):
            subscriber.close()

    def subscribers(self) -> list[Subscriber]:
        """The subscribers connected now (their ``delivered``/``dropped`` counters)."""
        return list(self._subscribers.values())

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def stats(self) -> HubStats:
        live = list(self._subscribers.values())
        return HubStats(
            subscribers=len(live),
            frames_published=self._published,
            frames_delivered=self._gone_delivered + sum(s.delivered for s in live),
            frames_dropped=self._gone_dropped + sum(s.dropped for s in live),
            subscriptions_total=self._subscriptions_total,
        )
