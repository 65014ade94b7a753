"""The safety limits of one intersection: what no signal command may break, from its MAP, its
controller's program and the operator's configuration. Pure.

Every limit is one the site's own program keeps (so the program running on its own is never a
violation) and tightened towards the operator's floors where the program is more generous:

- ``min_green_s[g]``: a green of group ``g`` lasts at least ``min(floor, the program's shortest
  green of g)``; the floor is ``SupervisorConfig.min_green_s``, for a crosswalk's group
  ``max(min_green_s, ped_walk_s)`` (the walk);
- ``amber_s[g]``: an amber (clearance) of ``g`` lasts at least the program's shortest one;
- ``intergreen_s[(a, b)]`` for conflicting groups: from the end of ``a``'s green to the start of
  ``b``'s at least the program's clearance stages between them (amber and all-red: its stages
  that show an amber or no green at all, served in full); when ``a`` is a crosswalk's group, also
  ``min(ped_clearance_s, the program's own gap)`` (the pedestrian clearance);
- ``max_red_s[g]``: a red (any state but green, from the end of ``g``'s green to its next
  green) lasts at most ``max(SupervisorConfig.max_red_s, the program's longest red of g)``;
- ``co_green``: the pairs of conflicting groups the program itself shows green together (a
  permissive movement that yields to the other by right of way); any other conflicting pair
  green together is a conflict.

Times are seconds; a stage's time is its nominal ``duration_s`` in a fixed-time program, its
``min_s`` (greens) in an actuated one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from roadside.controllers.base import ControllerProgram, Stage
from roadside.supervisor.config import SupervisorConfig
from vicoop.intersection import IntersectionMap
from vicoop.spat import ControlMode, MovementPhaseState

__all__ = ["SafetyLimits", "is_amber", "is_green", "is_green_stage"]


def is_green(state: MovementPhaseState) -> bool:
    """A state on which a vehicle (or a pedestrian) may enter."""
    return state.may_proceed


def is_amber(state: MovementPhaseState) -> bool:
    """An amber: the clearance after a green (or the red+amber before one)."""
    return state in (
        MovementPhaseState.PROTECTED_CLEARANCE,
        MovementPhaseState.PERMISSIVE_CLEARANCE,
        MovementPhaseState.PRE_MOVEMENT,
    )


def is_green_stage(stage: Stage) -> bool:
    """A stage a plan may time: some group green and none in an amber. The others (ambers,
    all-reds) are the program's clearances, always served in full."""
    states = [s for _, s in stage.states]
    return any(is_green(s) for s in states) and not any(is_amber(s) for s in states)


@dataclass(frozen=True)
class SafetyLimits:
    """One intersection's limits (see the module), seconds."""

    intersection_id: str
    groups: tuple[int, ...]
    conflicts: frozenset[tuple[int, int]]
    co_green: frozenset[tuple[int, int]]
    crosswalk_groups: frozenset[int]
    min_green_s: dict[int, float]
    amber_s: dict[int, float]
    intergreen_s: dict[tuple[int, int], float]
    max_red_s: dict[int, float]

    @staticmethod
    def build(
        the_map: IntersectionMap, program: ControllerProgram, config: SupervisorConfig
    ) -> SafetyLimits:
        """The limits of ``program`` (its stages) on ``the_map``'s groups under ``config``."""
        stages = program.stages
        if not stages:
            raise ValueError(f"{program.intersection_id}: the program has no stages")
        actuated = program.mode is ControlMode.ACTUATED
        groups = tuple(sorted({g for st in stages for g, _ in st.states}))
        n = len(stages)
        state = [{g: s for g, s in st.states} for st in stages]

        def green(k: int, g: int) -> bool:
            s = state[k % n].get(g)
            return s is not None and is_green(s)

        def amber(k: int, g: int) -> bool:
            s = state[k % n].get(g)
            return s is not None and is_amber(s)

        def floor_s(k: int) -> float:
            st = stages[k % n]
            return st.min_s if actuated and is_green_stage(st) else st.duration_s

        def clearance_s(k: int) -> float:
            st = stages[k % n]
            return 0.0 if is_green_stage(st) else st.duration_s

        crosswalks = frozenset(
            c.signal_group for c in the_map.crosswalks if c.signal_group is not None
        )
        conflicts = frozenset((a, b) for a, b in the_map.conflicts if a in groups and b in groups)
        co_green = frozenset(
            (a, b) for a, b in conflicts if any(green(k, a) and green(k, b) for k in range(n))
        )
        min_green: dict[int, float] = {}
        amber_s: dict[int, float] = {}
        max_red: dict[int, float] = {}
        ends: dict[int, list[int]] = {}  # group -> stages after which its green ends
        for g in groups:
            runs, ambers, reds = [], [], []
            for k in range(n):
                if not green(k, g) or green(k - 1, g):
                    continue
                j, run = k, 0.0
                while green(j, g) and j < k + n:
                    run, j = run + floor_s(j), j + 1
                runs.append(run)
                ends.setdefault(g, []).append(j % n)
                a = 0.0
                while amber(j, g) and j < k + 2 * n:
                    a, j = a + stages[j % n].duration_s, j + 1
                if a > 0.0:
                    ambers.append(a)
                red, i = 0.0, ends[g][-1]
                while not green(i, g) and i < ends[g][-1] + n:
                    red += stages[i % n].max_s if actuated else stages[i % n].duration_s
                    i += 1
                reds.append(red)
            if not runs:
                continue  # never green in the program: nothing to time
            floor = config.min_green_s
            if g in crosswalks:
                floor = max(floor, config.ped_walk_s)
            min_green[g] = min(floor, min(runs))
            amber_s[g] = min(ambers) if ambers else 0.0
            max_red[g] = max(config.max_red_s, max(reds))
        intergreen: dict[tuple[int, int], float] = {}
        for a, b in conflicts:
            gaps, real = [], []
            for end in ends.get(a, []):
                gap, gap_real, j = 0.0, 0.0, end
                while not green(j, b) and j < end + n:
                    gap, gap_real = gap + clearance_s(j), gap_real + floor_s(j)
                    j += 1
                if green(j, b):
                    gaps.append(gap)
                    real.append(gap_real)
            if not gaps:
                continue
            need = min(gaps)
            if a in crosswalks:
                need = max(need, min(config.ped_clearance_s, min(real)))
            intergreen[(a, b)] = need
        return SafetyLimits(
            program.intersection_id,
            groups,
            conflicts,
            co_green,
            crosswalks,
            min_green,
            amber_s,
            intergreen,
            max_red,
        )

    def conflicting(self, group: int) -> tuple[int, ...]:
        """The groups whose movements cross ``group``'s."""
        return tuple(b for a, b in sorted(self.conflicts) if a == group)

    @property
    def longest_red_s(self) -> float:
        return max(self.max_red_s.values(), default=math.inf)
