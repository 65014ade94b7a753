"""The coordinator's interface: what it is told about each intersection, and its one verb.

- ``SiteProgram``: an intersection's own signal program as its RSU reports it (the stages in
  order, which signal groups each gives green, their durations and min/max, seconds), and its
  neighbours along a corridor;
- ``Observation``: what the twin holds of one intersection at ``now_ns``: the stage the
  controller runs and since when (from the SPaT the RSU relays), and the RSU's per-movement
  measures (``vicoop.cloudmodel.MovementMeasure``, computed from its tracks);
- ``Coordinator.decide(observations, now_ns) -> commands``: pure, synchronous, time passed in.

Times are ns since the Unix epoch (the twin's clock).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from vicoop.cloudmodel import MovementMeasure
from vicoop.signalplan import SignalCommand

__all__ = ["Coordinator", "Observation", "SiteProgram", "StageView"]


@dataclass(frozen=True, slots=True)
class StageView:
    """One stage of a site's program: its index (the controller's, ``SignalCommand``'s stage
    numbers), the signal groups it gives green (empty: an amber or all-red stage), its
    programmed duration and its min/max (s; ``min_s == max_s`` in a fixed-time program)."""

    index: int
    green_groups: tuple[int, ...]
    duration_s: float
    min_s: float
    max_s: float

    @property
    def is_green(self) -> bool:
        return bool(self.green_groups)


@dataclass(frozen=True, slots=True)
class SiteProgram:
    """An intersection's own program (its stages in order) and its neighbours' ids along a
    corridor (intersections whose egress feeds this one's ingress), with the free-flow travel
    time (s) from each to this one."""

    intersection_id: str
    stages: tuple[StageView, ...]
    neighbours: tuple[tuple[str, float], ...] = ()

    @property
    def cycle_s(self) -> float:
        return sum(s.duration_s for s in self.stages)

    @property
    def green_stages(self) -> tuple[StageView, ...]:
        return tuple(s for s in self.stages if s.is_green)

    def stage(self, index: int) -> StageView:
        """The stage ``index`` (KeyError if there is none)."""
        for s in self.stages:
            if s.index == index:
                return s
        raise KeyError(index)


@dataclass(frozen=True, slots=True)
class Observation:
    """What the twin holds of one intersection at ``now_ns``: the stage running and since when
    (ns), and the per-movement measures of the RSU's latest summary."""

    intersection_id: str
    now_ns: int
    stage: int
    stage_since_ns: int
    measures: tuple[MovementMeasure, ...]

    @property
    def stage_elapsed_s(self) -> float:
        return (self.now_ns - self.stage_since_ns) / 1e9


class Coordinator(ABC):
    """Decides signal commands for a set of intersections (see the module)."""

    name: str = ""

    def __init__(self, sites: tuple[SiteProgram, ...]) -> None:
        self.sites = {s.intersection_id: s for s in sites}

    @abstractmethod
    def decide(self, observations: Sequence[Observation], now_ns: int) -> list[SignalCommand]:
        """The commands to send now (none: keep what runs)."""
