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
from vicoop.signalplan import PhaseRequest, RequestKind, SignalCommand

__all__ = ["CommandIssuer", "Coordinator", "Observation", "SiteProgram", "StageView"]

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class StageView:
    """One stage of a site's program: its index (the controller's, ``SignalCommand``'s stage
    numbers), the signal groups it gives green (or lets proceed: a permissive turn that stays
    green through another group's amber), whether it is a clearance (some group shows an amber:
    the supervisor always serves it in full, a coordinator cannot time it), its programmed
    duration and its min/max (s; ``min_s == max_s`` in a fixed-time program), and which of its
    green groups are only permissive (they yield to conflicting traffic: a left turn across
    oncoming traffic)."""

    index: int
    green_groups: tuple[int, ...]
    duration_s: float
    min_s: float
    max_s: float
    clearance: bool = False
    permissive: tuple[int, ...] = ()

    @property
    def is_green(self) -> bool:
        """A stage a coordinator may time: some group green, none in an amber."""
        return bool(self.green_groups) and not self.clearance


@dataclass(frozen=True, slots=True)
class SiteProgram:
    """An intersection's own program (its stages in order), the number of ingress lanes of
    each signal group (``(group, lanes)``: what bounds its discharge), and its neighbours' ids
    along a corridor (intersections whose egress feeds this one's ingress), with the
    free-flow travel time (s) from each to this one."""

    intersection_id: str
    stages: tuple[StageView, ...]
    ingress_lanes: tuple[tuple[int, int], ...] = ()
    neighbours: tuple[tuple[str, float], ...] = ()

    @property
    def cycle_s(self) -> float:
        return sum(s.duration_s for s in self.stages)

    @property
    def green_stages(self) -> tuple[StageView, ...]:
        return tuple(s for s in self.stages if s.is_green)

    def starts_green(self, index: int) -> bool:
        """Whether stage ``index`` begins some group's green (a stage whose greens all ran in
        the stage before has no minimum green of its own: it may end at once)."""
        k = next(i for i, s in enumerate(self.stages) if s.index == index)
        before = self.stages[k - 1].green_groups
        return any(g not in before for g in self.stages[k].green_groups)

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


class CommandIssuer:
    """Turns a coordinator's wish for each intersection (hold or force off a stage) into
    ``SignalCommand``\\ s: a new command when the wish changes, and the same wish renewed
    before its window ends (windows of ``window_s``, renewed ``renew_s`` before their end),
    so that a coordinator that stops deciding lets the site's program take over within a
    window. ``plan_id``\\ s are ``NAME/INTERSECTION/N``."""

    def __init__(self, name: str, window_s: float = 6.0, renew_s: float = 2.0) -> None:
        self.name = name
        self.window_ns = round(window_s * NS_PER_S)
        self.renew_ns = round(renew_s * NS_PER_S)
        self._issued: dict[str, tuple[RequestKind, int, int]] = {}
        self._count = 0

    def request(
        self, intersection_id: str, kind: RequestKind, stage: int, now_ns: int
    ) -> SignalCommand | None:
        """The command for ``kind`` of ``stage`` at ``intersection_id`` now, None when the one
        issued already says so and is not about to end."""
        last = self._issued.get(intersection_id)
        if last is not None and last[:2] == (kind, stage) and now_ns < last[2] - self.renew_ns:
            return None
        self._count += 1
        end = now_ns + self.window_ns
        self._issued[intersection_id] = (kind, stage, end)
        return SignalCommand(
            intersection_id,
            f"{self.name}/{intersection_id}/{self._count}",
            now_ns,
            end,
            PhaseRequest(kind, (stage,)),
        )

    def forget(self, intersection_id: str) -> None:
        """The intersection's command is over (its stage ended): the next wish is new."""
        self._issued.pop(intersection_id, None)


class Coordinator(ABC):
    """Decides signal commands for a set of intersections (see the module)."""

    name: str = ""
    min_green_s: float = 5.0

    def __init__(self, sites: tuple[SiteProgram, ...]) -> None:
        self.sites = {s.intersection_id: s for s in sites}

    def min_green(self, site: SiteProgram, stage: StageView) -> float:
        """How long (s) green stage ``stage`` runs before the coordinator decides about it:
        ``min_green_s`` (the stage's own duration where shorter), none for a stage that begins
        no group's green."""
        if not site.starts_green(stage.index):
            return 0.0
        return min(self.min_green_s, stage.duration_s)

    @abstractmethod
    def decide(self, observations: Sequence[Observation], now_ns: int) -> list[SignalCommand]:
        """The commands to send now (none: keep what runs)."""
