"""Per-subscriber filtering of frames: region of interest, object classes and rate limit.

Pure: no clock, no I/O. The region test is vectorised over all objects of a frame.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

from vicoop.model import NS_PER_S, Circle, PerceptionFrame, Subscription


class SubscriptionFilter:
    """Decides which frames a subscriber gets and which of their objects."""

    def __init__(self, subscription: Subscription, publish_rate_hz: float) -> None:
        self.subscription = subscription
        region = subscription.region
        self._circle: Circle | None = region if isinstance(region, Circle) else None
        self._polygon: shapely.Polygon | None = None
        if region is not None and not isinstance(region, Circle):
            self._polygon = shapely.Polygon(region.vertices)
            shapely.prepare(self._polygon)
        self._classes = np.array(sorted(int(c) for c in subscription.classes), dtype=np.int64)
        self._interval_ns = 0
        self._next_due_ns: int | None = None
        if subscription.max_rate_hz > 0:
            # Frames come on publish ticks; allow a quarter tick of slack so that, say, 10 Hz of
            # a 20 Hz stream is every second frame rather than an irregular beat.
            slack_ns = int(0.25 * NS_PER_S / publish_rate_hz)
            self._interval_ns = max(0, int(NS_PER_S / subscription.max_rate_hz) - slack_ns)

    @property
    def passes_everything(self) -> bool:
        """True when every object of a frame passes (no region, no class filter)."""
        return self.subscription.region is None and not self.subscription.classes

    def due(self, frame_time_ns: int) -> bool:
        """Whether a frame valid at ``frame_time_ns`` is sent, given the rate limit.

        Advances the limiter: call once per frame, in time order.
        """
        if self._interval_ns == 0:
            return True
        if self._next_due_ns is not None and frame_time_ns < self._next_due_ns:
            return False
        self._next_due_ns = frame_time_ns + self._interval_ns
        return True

    def select(self, frame: PerceptionFrame) -> npt.NDArray[np.intp]:
        """Indices of the frame's objects this subscriber gets, in frame order."""
        keep = np.ones(len(frame.objects), dtype=bool)
        if self._classes.size:
            keep &= np.isin(frame.classes, self._classes)
        if self._circle is not None:
            xy = frame.positions[:, :2]
            d2 = (xy[:, 0] - self._circle.center_x_m) ** 2 + (
                xy[:, 1] - self._circle.center_y_m
            ) ** 2
            keep &= d2 <= self._circle.radius_m**2
        elif self._polygon is not None:
            xy = frame.positions
            keep &= shapely.intersects_xy(self._polygon, xy[:, 0], xy[:, 1])
        return np.flatnonzero(keep)
