"""Where an RSU's published objects come from.

A frame source is pure: asked for a snapshot at time ``now_ns``, it returns its objects predicted
to that time and the state of its sensors. It never reads a clock; the publish loop passes time in.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from vicoop.model import DetectedObject, SensorStatus


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Objects valid at one instant, and the sensors' state then."""

    objects: tuple[DetectedObject, ...]
    sensors: tuple[SensorStatus, ...] = ()


class FrameSource(abc.ABC):
    """Gives the objects to publish at a given time."""

    @abc.abstractmethod
    def snapshot(self, now_ns: int) -> Snapshot:
        """Objects predicted to ``now_ns`` (ns since the Unix epoch) and sensor state."""

    async def start(self) -> None:  # noqa: B027 (optional hook)
        """Open the sockets or buses the source reads (the daemon calls it before publishing)."""

    async def stop(self) -> None:  # noqa: B027 (optional hook)
        """Close what ``start`` opened."""
