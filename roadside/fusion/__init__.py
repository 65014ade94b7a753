"""Fusion and tracking: calibrated scans from every sensor in, tracked objects out.

Pure and synchronous; time is passed in (``tracker.step(scans, now_ns)``).
"""

from __future__ import annotations

from collections.abc import Callable

from roadside.fusion.base import CentreOffsets, Coverage, Scan, Tracker, TrackEstimates
from roadside.fusion.config import TrackerConfig
from roadside.fusion.tracker import MultiSensorTracker, TrackerStats

__all__ = [
    "REGISTRY",
    "CentreOffsets",
    "Coverage",
    "MultiSensorTracker",
    "Scan",
    "TrackEstimates",
    "Tracker",
    "TrackerConfig",
    "TrackerStats",
]

# name -> factory(config): the tracker named in ``source.tracker_kind``.
REGISTRY: dict[str, Callable[[TrackerConfig], Tracker]] = {
    "imm-gnn": MultiSensorTracker,
}
