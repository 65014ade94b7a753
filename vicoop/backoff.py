"""Exponential backoff with jitter, for anything that retries: MQTT sessions reconnecting,
supervised tasks restarting, messages resent."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff between connection attempts, in seconds.

    The first wait is ``initial_s``, each next one ``factor`` times longer, at most ``max_s``;
    each is randomised by +-``jitter`` (a fraction of it), so clients that lost the same broker
    do not all come back at the same instant. A successful connection starts the sequence over.
    """

    initial_s: float = 0.1
    factor: float = 2.0
    max_s: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 < self.initial_s <= self.max_s:
            raise ValueError(f"backoff needs 0 < initial_s <= max_s, got {self}")
        if self.factor < 1.0:
            raise ValueError(f"backoff factor must be >= 1, got {self.factor}")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"backoff jitter must be in [0, 1), got {self.jitter}")

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The waits before each attempt, s (endless); ``rng`` draws the jitter."""
        attempt = 0
        while True:
            yield self.delay(attempt, rng)
            attempt += 1

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait after ``attempt`` earlier attempts (0: the first wait), s, jittered by
        ``rng``: for a retry whose count is stored (an outbox message) rather than iterated."""
        try:
            base = min(self.initial_s * self.factor ** max(0, attempt), self.max_s)
        except OverflowError:  # factor ** attempt beyond a float: long past max_s
            base = self.max_s
        return base * (1.0 + rng.uniform(-self.jitter, self.jitter)) if self.jitter else base
