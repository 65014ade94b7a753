"""Class belief: what the classes sensors report tell about each track's, chosen by name."""

from __future__ import annotations

from collections.abc import Callable

from roadside.fusion.class_belief.base import ClassBelief
from roadside.fusion.class_belief.confusion import UniformConfusion
from roadside.fusion.config import TrackerConfig

__all__ = ["REGISTRY", "ClassBelief", "UniformConfusion"]

# name -> factory(config): the class belief named in ``tracker.class_belief``.
REGISTRY: dict[str, Callable[[TrackerConfig], ClassBelief]] = {
    UniformConfusion.name: UniformConfusion.from_config,
}
