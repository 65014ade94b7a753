"""Signal plans: what the cloud's coordinator asks of one intersection's controller.

Kernel domain types, pure. A coordinator (``cloud``) decides; the RSU's safety supervisor
(``roadside``) checks every command against the intersection's MAP (conflicts) and the
controller's program (minimum greens, clearances, pedestrian minimums, maximum red) before its
controller adapter applies it, and refuses what would break one of them. Nothing here can make
a command safe: only the supervisor decides what reaches the controller.

Two kinds of action, as traffic engineers and NTCIP 1202 know them:

- ``PhasePlan``: a coordination plan, a cycle length, an offset and a green split for each green
  stage of the site's own program (the stages are the program's, in its order; the plan only
  times them). The cycle starts (the first split's green begins) at every instant ``t`` with
  ``(t - offset_s) mod cycle_s == 0``, ``t`` in seconds since the Unix epoch (UTC), so that
  neighbours sharing a cycle length keep their relative offsets: a green wave.
- ``PhaseRequest``: a request about the running program for a while: ``HOLD`` a green stage
  (do not end it), ``FORCE_OFF`` a green stage (end it as soon as it is safe), ``SKIP`` green
  stages (omit them from the next cycles).

A ``SignalCommand`` applies from ``start_ns`` to ``end_ns`` (ns since the Unix epoch, the
twin's clock); after ``end_ns`` the controller returns to the site's own program unless a newer
command came. Stage numbers are the indices of the site program's stages
(``roadside.controllers.ControllerProgram.stages[k].index``: SUMO's phase indices, an NTCIP
controller's phases).

Errors: a malformed action raises ``SignalPlanError`` (a ``ValueError``) naming the field.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from vicoop.errors import VicoopError

__all__ = [
    "PhasePlan",
    "PhaseRequest",
    "RequestKind",
    "SignalCommand",
    "SignalPlanError",
    "StageSplit",
]

NS_PER_S = 1_000_000_000
MAX_CYCLE_S = 300.0  # no urban controller runs a longer cycle


class SignalPlanError(VicoopError, ValueError):
    """A signal plan or request that is malformed; the message names the field."""


class RequestKind(enum.IntEnum):
    """What a ``PhaseRequest`` asks (NTCIP 1202's phase control: hold, force-off, omit)."""

    HOLD = 1
    FORCE_OFF = 2
    SKIP = 3


@dataclass(frozen=True, slots=True)
class StageSplit:
    """The green time (s) a plan gives one green stage of the site's program."""

    stage: int
    green_s: float

    def __post_init__(self) -> None:
        if self.stage < 0:
            raise SignalPlanError(f"stage: {self.stage} is not a stage index (>= 0)")
        if not (math.isfinite(self.green_s) and self.green_s > 0.0):
            raise SignalPlanError(f"green_s: {self.green_s} s is not a positive green time")


@dataclass(frozen=True, slots=True)
class PhasePlan:
    """A coordination plan: cycle length (s), offset (s, see the module) and the green splits
    of the program's green stages, in the program's order (a stage not listed keeps its own
    green time; the supervisor decides whether the cycle still fits)."""

    cycle_s: float
    offset_s: float
    splits: tuple[StageSplit, ...]

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cycle_s) and 0.0 < self.cycle_s <= MAX_CYCLE_S):
            raise SignalPlanError(f"cycle_s: {self.cycle_s} s is not in (0, {MAX_CYCLE_S:g}]")
        if not (math.isfinite(self.offset_s) and 0.0 <= self.offset_s < self.cycle_s):
            raise SignalPlanError(f"offset_s: {self.offset_s} s is not in [0, cycle_s)")
        if not self.splits:
            raise SignalPlanError("splits: a plan needs at least one green split")
        stages = [s.stage for s in self.splits]
        if len(set(stages)) != len(stages):
            raise SignalPlanError(f"splits: a stage appears twice in {stages}")
        if sum(s.green_s for s in self.splits) >= self.cycle_s:
            raise SignalPlanError(
                f"splits: greens add up to {sum(s.green_s for s in self.splits):g} s, "
                f"no time left for clearances in a {self.cycle_s:g} s cycle"
            )

    def split_of(self, stage: int) -> float | None:
        """The green (s) the plan gives ``stage``, None when it does not time it."""
        return next((s.green_s for s in self.splits if s.stage == stage), None)


@dataclass(frozen=True, slots=True)
class PhaseRequest:
    """Hold or force off one green stage, or skip some (``stages``: their indices)."""

    kind: RequestKind
    stages: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.stages:
            raise SignalPlanError("stages: a request names at least one stage")
        if any(s < 0 for s in self.stages):
            raise SignalPlanError(f"stages: {self.stages} holds a negative index")
        if len(set(self.stages)) != len(self.stages):
            raise SignalPlanError(f"stages: a stage appears twice in {self.stages}")
        if self.kind != RequestKind.SKIP and len(self.stages) != 1:
            raise SignalPlanError(f"stages: {self.kind.name} names exactly one stage")


@dataclass(frozen=True, slots=True)
class SignalCommand:
    """What the coordinator asks of intersection ``intersection_id`` from ``start_ns`` to
    ``end_ns`` (ns since the Unix epoch); ``plan_id`` names the plan for the twin's history
    (e.g. ``"adaptive/1733520000"``)."""

    intersection_id: str
    plan_id: str
    start_ns: int
    end_ns: int
    action: PhasePlan | PhaseRequest

    def __post_init__(self) -> None:
        if not self.intersection_id:
            raise SignalPlanError("intersection_id: empty")
        if not self.plan_id:
            raise SignalPlanError("plan_id: empty")
        if self.end_ns <= self.start_ns:
            raise SignalPlanError(f"end_ns: {self.end_ns} is not after start_ns {self.start_ns}")

    def active(self, now_ns: int) -> bool:
        """Whether the command applies at ``now_ns``."""
        return self.start_ns <= now_ns < self.end_ns
