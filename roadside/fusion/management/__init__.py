"""Track management: when a track is confirmed and when it is deleted, chosen by name."""

from __future__ import annotations

from collections.abc import Callable

from roadside.fusion.config import TrackerConfig
from roadside.fusion.management.base import TrackManager, Verdict
from roadside.fusion.management.m_of_n import MOfN, popcount

__all__ = ["REGISTRY", "MOfN", "TrackManager", "Verdict", "popcount"]

# name -> factory(config): the manager named in ``tracker.manager``.
REGISTRY: dict[str, Callable[[TrackerConfig], TrackManager]] = {
    MOfN.name: MOfN.from_config,
}
