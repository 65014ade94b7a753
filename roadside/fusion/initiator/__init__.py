"""Track initiation: the state a new track starts from, chosen by name."""

from __future__ import annotations

from collections.abc import Callable

from roadside.fusion.config import TrackerConfig
from roadside.fusion.initiator.base import Initiator
from roadside.fusion.initiator.single_point import SinglePointInitiator

__all__ = ["REGISTRY", "Initiator", "SinglePointInitiator"]

# name -> factory(config): the initiator named in ``tracker.initiator``.
REGISTRY: dict[str, Callable[[TrackerConfig], Initiator]] = {
    SinglePointInitiator.name: SinglePointInitiator.from_config,
}
