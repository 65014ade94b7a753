"""Fan-out of twin updates to live-feed subscribers (server-sent events), each with a bounded
latest-wins queue: a slow browser never holds up the twin."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any


class FeedSubscriber:
    def __init__(self, depth: int) -> None:
        self._queue: deque[str] = deque(maxlen=depth)
        self._ready = asyncio.Event()
        self.dropped = 0

    def offer(self, message: str) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(message)
        self._ready.set()

    async def next(self) -> str:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()


class Feed:
    def __init__(self, depth: int = 64) -> None:
        self.depth = depth
        self.subscribers: set[FeedSubscriber] = set()

    def publish(self, kind: str, data: Any) -> None:
        """Queue ``data`` (JSON-serialisable) as an SSE message of event type ``kind``."""
        if not self.subscribers:
            return
        message = f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
        for subscriber in list(self.subscribers):
            subscriber.offer(message)

    def subscribe(self) -> FeedSubscriber:
        subscriber = FeedSubscriber(self.depth)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: FeedSubscriber) -> None:
        self.subscribers.discard(subscriber)
