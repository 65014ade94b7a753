"""The safety supervisor: between the cloud's ``SignalCommand``s and one intersection's
controller, it alone decides each step which stage the controller shows. Pure (time passed in).

How a caller drives it (the RSU's command path, the closed-loop evaluation)::

    sup = SafetySupervisor(the_map, program, SupervisorConfig())   # IntersectionMap,
                                                                   # ControllerProgram (stages)
    refusal = sup.submit(command, now_ns)   # None: accepted; else Refusal(reason, detail)
    sup.link(up, now_ns)                    # the cloud link's state, when it changes
    each step (after the simulation / controller advanced):
        decision = sup.step(now_ns, adapter.stage_state())   # StageState(stage, since_ns)
        adapter.execute(decision)           # SumoAdapter.execute / the writer's apply
        monitor.observe(reading)            # SafetyMonitor, optional: the invariants as seen

``Decision``: ``stage`` (a program stage index: SUMO's phase index), ``supervised`` (True: the
controller must show ``stage`` and not switch on its own; False: it runs its own program, from
``stage`` when ``switched``), ``switched`` (the stage changed at this step), ``plan_id``.

Why it cannot be talked into an unsafe state: the supervisor only ever shows the program's own
stages, in the program's own order, so every transition is one the site's program makes (its
ambers and all-reds, stages with an amber or no green, are always served in full); it only
chooses how long a *green* stage lasts, and ends one only when a copy of the ``SafetyMonitor``
fed the switch ahead (to the next green stage) reports nothing (min greens, walks, ambers,
clearances, pedestrian clearances); it ends a green stage as soon as that is safe when a group's
red would otherwise outgrow its max red, whatever a command asks. Commands only set the green
times it aims at:

- ``PhasePlan``: each green stage aims at its split (a stage not listed: its program time), the
  cycle's slack spread over the greens in proportion; the end of each green is pulled towards
  the plan's offset (``(t - offset_s) mod cycle_s == 0`` at the first split's green start) by
  at most +50 % / down to the minimum green per stage, so a new offset is reached in a few
  cycles;
- ``HOLD`` stage s: s lasts until the window ends (bounded by max red);
- ``FORCE_OFF`` stage s: s ends as soon as it is safe;
- ``SKIP`` stages: in a fixed stage sequence the RSU knows no safe transition that bypasses a
  stage, so a skipped stage is served at its minimum (it ends as soon as it is safe).

Refused (``RefusalReason``, counted in ``stats.refused``, logged): a command for another
intersection, one whose window is over, a stage the program does not have or that is not a green
stage, splits out of the program's order, a split below the stage's minimum green, a cycle too
short for the minimum greens and clearances, a hold longer than max red allows, a skip of every
green stage.

Fallback to the site's own program: when no command is active (its window ended), none arrived
for ``fallback_after_s`` (a resent command counts), or the cloud link is down, the supervisor
runs the program's own stage times and hands the controller back at the next stage switch where
no group's red would outgrow max red on the program's own times (within a cycle); a command
active again takes control back from the stage the controller is in.
"""

from __future__ import annotations

import collections
import enum
import logging
import math
from dataclasses import dataclass, field

from roadside.controllers.base import ControllerProgram, Decision, Stage, StageState
from roadside.supervisor.config import SupervisorConfig
from roadside.supervisor.limits import SafetyLimits, is_green, is_green_stage
from roadside.supervisor.monitor import Invariant, SafetyMonitor
from vicoop.intersection import IntersectionMap
from vicoop.signalplan import PhasePlan, PhaseRequest, RequestKind, SignalCommand
from vicoop.spat import MovementPhaseState

__all__ = [
    "Decision",
    "Refusal",
    "RefusalReason",
    "SafetySupervisor",
    "StageState",
    "SupervisorStats",
]

log = logging.getLogger(__name__)

NS = 1_000_000_000
MAX_COMMANDS = 32  # accepted commands kept (future windows); the oldest goes first
TOL_S = 1e-6


class RefusalReason(enum.Enum):
    """Why a command was refused."""

    WRONG_INTERSECTION = "wrong_intersection"
    WINDOW_OVER = "window_over"
    UNKNOWN_STAGE = "unknown_stage"
    NOT_A_GREEN_STAGE = "not_a_green_stage"
    SPLITS_OUT_OF_ORDER = "splits_out_of_order"
    SPLIT_BELOW_MIN_GREEN = "split_below_min_green"
    CYCLE_TOO_SHORT = "cycle_too_short"
    HOLD_TOO_LONG = "hold_too_long"
    SKIPS_EVERY_STAGE = "skips_every_stage"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused command: why, and what was wrong (for the acknowledgement and the event)."""

    reason: RefusalReason
    detail: str


@dataclass
class SupervisorStats:
    """Commands accepted, refused by reason, the last refusal, stage switches it made, times it
    handed the controller back, times the controller was not where the supervisor put it (it
    then follows the controller from there), times max red ended a green early."""

    accepted: int = 0
    refused: collections.Counter[RefusalReason] = field(default_factory=collections.Counter)
    last_refusal: str = ""
    switches: int = 0
    released: int = 0
    mismatches: int = 0
    max_red_forced: int = 0


class SafetySupervisor:
    """One intersection's safety supervisor (see the module)."""

    def __init__(
        self,
        the_map: IntersectionMap,
        program: ControllerProgram,
        config: SupervisorConfig | None = None,
    ) -> None:
        self.config = config or SupervisorConfig()
        self.program = program
        self.intersection_id = program.intersection_id
        self.limits = SafetyLimits.build(the_map, program, self.config)
        self.stages: tuple[Stage, ...] = program.stages
        self._pos = {st.index: k for k, st in enumerate(self.stages)}
        self._states = [
            {g: s for g, s in st.states if g in self.limits.min_green_s} for st in self.stages
        ]
        self._green = [is_green_stage(st) for st in self.stages]
        self._floor = [self._stage_floor(k) for k in range(len(self.stages))]
        self.stats = SupervisorStats()
        self.commands: list[SignalCommand] = []
        self.shadow = SafetyMonitor(self.limits)
        self.supervised = False
        self.link_up = True
        self.heard_ns: int | None = None
        self._cur: int | None = None  # position in ``stages``
        self._since_ns = 0
        self._last_ns: int | None = None
        self._dt_ns = 0

    # -- commands -------------------------------------------------------------------------

    def submit(self, command: SignalCommand, now_ns: int) -> Refusal | None:
        """Check ``command`` at ``now_ns``; None when accepted (it applies in its window),
        else the refusal (counted and logged). The same command again is accepted and counts
        as heard."""
        self.heard(now_ns)
        if command in self.commands:
            return None
        refusal = self.check(command, now_ns)
        if refusal is not None:
            self.stats.refused[refusal.reason] += 1
            self.stats.last_refusal = f"{refusal.reason.value}: {refusal.detail}"
            n = self.stats.refused[refusal.reason]
            if n == 1 or n % 100 == 0:
                log.warning(
                    "supervisor %s: refused %s (%s; %d so far)",
                    self.intersection_id,
                    command.plan_id,
                    self.stats.last_refusal,
                    n,
                )
            return refusal
        self.stats.accepted += 1
        self.commands = [c for c in self.commands if c.end_ns > now_ns][-(MAX_COMMANDS - 1) :]
        self.commands.append(command)
        return None

    def check(self, command: SignalCommand, now_ns: int) -> Refusal | None:
        """Why ``command`` cannot be honoured safely (None: it can). Pure."""
        R = RefusalReason
        if command.intersection_id != self.intersection_id:
            return Refusal(
                R.WRONG_INTERSECTION,
                f"intersection_id {command.intersection_id!r} is not {self.intersection_id!r}",
            )
        if command.end_ns <= now_ns:
            return Refusal(R.WINDOW_OVER, f"end_ns {command.end_ns} is not after now {now_ns}")
        action = command.action
        named = [s.stage for s in action.splits] if isinstance(action, PhasePlan) else action.stages
        for s in named:
            if s not in self._pos:
                return Refusal(R.UNKNOWN_STAGE, f"stage {s} is not in the program")
            if not self._green[self._pos[s]]:
                return Refusal(R.NOT_A_GREEN_STAGE, f"stage {s} is a clearance stage")
        if isinstance(action, PhasePlan):
            return self._check_plan(action)
        return self._check_request(action, command)

    def _check_plan(self, plan: PhasePlan) -> Refusal | None:
        R = RefusalReason
        order = [self._pos[s.stage] for s in plan.splits]
        first = order[0]
        rotated = [(p - first) % len(self.stages) for p in order]
        if rotated != sorted(rotated):
            return Refusal(
                R.SPLITS_OUT_OF_ORDER,
                f"splits {[s.stage for s in plan.splits]} are not in the program's order",
            )
        for s in plan.splits:
            floor = self._floor[self._pos[s.stage]]
            if s.green_s + TOL_S < floor:
                return Refusal(
                    R.SPLIT_BELOW_MIN_GREEN,
                    f"stage {s.stage}: split {s.green_s:g} s < minimum green {floor:g} s",
                )
        need = sum(
            max(self._floor[k], 0.0) if self._green[k] else self.stages[k].duration_s
            for k in range(len(self.stages))
        )
        if need > plan.cycle_s + TOL_S:
            return Refusal(
                R.CYCLE_TOO_SHORT,
                f"cycle {plan.cycle_s:g} s < {need:g} s of minimum greens and clearances",
            )
        return None

    def _check_request(self, req: PhaseRequest, command: SignalCommand) -> Refusal | None:
        R = RefusalReason
        if req.kind is RequestKind.HOLD:
            window_s = (command.end_ns - command.start_ns) / NS
            k = self._pos[req.stages[0]]
            held = {g for g, s in self._states[k].items() if is_green(s)}
            reds = [self.limits.max_red_s[g] for g in self.limits.max_red_s if g not in held]
            bound = min(reds, default=math.inf)
            if window_s > bound:
                return Refusal(
                    R.HOLD_TOO_LONG,
                    f"hold of stage {req.stages[0]} for {window_s:g} s > max red {bound:g} s",
                )
        if req.kind is RequestKind.SKIP:
            greens = {st.index for k, st in enumerate(self.stages) if self._green[k]}
            if greens <= set(req.stages):
                return Refusal(R.SKIPS_EVERY_STAGE, f"stages {req.stages} are every green stage")
        return None

    def heard(self, now_ns: int) -> None:
        """The coordinator spoke at ``now_ns`` (a command resent): not silent yet."""
        self.heard_ns = now_ns

    def link(self, up: bool, now_ns: int) -> None:
        """The cloud link is ``up`` (or down) since ``now_ns``: down means the site program."""
        self.link_up = up

    def active(self, now_ns: int) -> SignalCommand | None:
        """The command that applies at ``now_ns`` (the newest accepted whose window holds it),
        None when the controller should run the site's own program (see the module)."""
        if not self.link_up or self.heard_ns is None:
            return None
        if now_ns - self.heard_ns > self.config.fallback_after_s * NS:
            return None
        for c in reversed(self.commands):
            if c.active(now_ns):
                return c
        return None

    def engaged(self, now_ns: int) -> bool:
        """Whether the controller's times are not (or may soon not be) its program's: it is
        supervised now, or a command accepted is still to come or running."""
        return self.supervised or any(c.end_ns > now_ns for c in self.commands)

    # -- the step ------------------------------------------------------------------------

    def step(self, now_ns: int, observed: StageState) -> Decision:
        """Decide the stage at ``now_ns`` given the stage the controller shows (see the
        module); call it every control step, after the controller was read."""
        if self._last_ns is not None and now_ns > self._last_ns:
            self._dt_ns = now_ns - self._last_ns
        first = self._last_ns is None
        self._last_ns = now_ns
        command = self.active(now_ns)
        plan_id = command.plan_id if command is not None else ""
        pos = self._pos.get(observed.stage)
        if first and pos is not None:  # what was shown before: the controller's word
            self.shadow.assume(min(observed.since_ns, now_ns), self._states[pos])
        if not self.supervised:
            if pos is None:  # the controller runs something else: nothing to supervise
                return Decision(observed.stage, False, False)
            self._cur, self._since_ns = pos, observed.since_ns
            self._feed(now_ns)  # what the controller shows now, before any decision on it
            if command is None:
                return Decision(observed.stage, False, False)
            self.supervised = True
        elif pos != self._cur:
            # Someone else moved the controller (a technician, the cabinet's own conflict
            # monitor): follow it from what it shows rather than jump it back.
            self.stats.mismatches += 1
            if pos is None:
                self.supervised = False
                return Decision(observed.stage, False, False)
            self._cur, self._since_ns = pos, observed.since_ns
            self._feed(now_ns)
        assert self._cur is not None
        k = self._cur
        elapsed_s = (now_ns - self._since_ns) / NS
        switched = False
        if not self._green[k]:
            end = elapsed_s + TOL_S >= self.stages[k].duration_s
        else:
            want = elapsed_s + TOL_S >= self._target_s(k, command, now_ns)
            forced = self._max_red_forces(k, now_ns)
            end = (want or forced) and self._safe_to_end(k, now_ns)
            if end and forced and not want:
                self.stats.max_red_forced += 1
        if end:
            self._cur, self._since_ns = (k + 1) % len(self.stages), now_ns
            self.stats.switches += 1
            switched = True
            if command is None and self._release_safe(self._cur, now_ns):
                self.supervised = False
                self.stats.released += 1
        self._feed(now_ns)
        return Decision(self.stages[self._cur].index, self.supervised, switched, plan_id)

    # -- internals -----------------------------------------------------------------------

    def _feed(self, now_ns: int) -> None:
        assert self._cur is not None
        self.shadow.observe_states(now_ns, self._states[self._cur])

    def _stage_floor(self, k: int) -> float:
        """The shortest a green stage may be planned: the longest minimum green of the groups
        whose green begins in it."""
        n = len(self.stages)
        before = self._states[(k - 1) % n]
        starts = [
            self.limits.min_green_s[g]
            for g, s in self._states[k].items()
            if is_green(s) and not is_green(before.get(g, MovementPhaseState.UNAVAILABLE))
        ]
        return max(starts, default=0.0)

    def _nominal_s(self, k: int) -> float:
        return self.stages[k].duration_s

    def _target_s(self, k: int, command: SignalCommand | None, now_ns: int) -> float:
        """How long (s) green stage ``k`` should last under ``command``."""
        if command is None:
            return self._nominal_s(k)
        action = command.action
        index = self.stages[k].index
        if isinstance(action, PhaseRequest):
            if index not in action.stages:
                return self._nominal_s(k)
            if action.kind is RequestKind.HOLD:
                return max(self._floor[k], (command.end_ns - self._since_ns) / NS)
            return 0.0  # FORCE_OFF, SKIP: as soon as it is safe
        return self._plan_target_s(k, action)

    def _plan_target_s(self, k: int, plan: PhasePlan) -> float:
        n = len(self.stages)
        first = self._pos[plan.splits[0].stage]
        greens = {
            p: (plan.split_of(self.stages[p].index) or self._nominal_s(p))
            for p in range(n)
            if self._green[p]
        }
        clear = sum(self.stages[p].duration_s for p in range(n) if not self._green[p])
        total_green = sum(greens.values())
        scale = max(plan.cycle_s - clear, 0.0) / total_green if total_green > 0 else 1.0
        end_at, t = {}, 0.0
        for j in range(n):
            p = (first + j) % n
            t += greens[p] * scale if self._green[p] else self.stages[p].duration_s
            end_at[p] = t
        g = greens[k] * scale
        c0 = (self._since_ns / NS - plan.offset_s) % plan.cycle_s
        error = (end_at[k] - c0 - g + plan.cycle_s / 2) % plan.cycle_s - plan.cycle_s / 2
        return min(max(g + error, self._floor[k]), 1.5 * g)

    def _safe_to_end(self, k: int, now_ns: int) -> bool:
        """Whether switching from green stage ``k`` at ``now_ns`` to the next green stage, its
        clearances in full, breaks nothing the monitor checks (max red aside)."""
        probe = self.shadow.copy()
        n = len(self.stages)
        t, p = now_ns, (k + 1) % n
        for _ in range(n):
            found = probe.observe_states(t, self._states[p])
            if any(v.invariant is not Invariant.MAX_RED for v in found):
                return False
            if self._green[p]:
                return True
            t += round(self.stages[p].duration_s * NS)
            p = (p + 1) % n
        return True

    def _red_path_s(self, k: int, g: int, minimal: bool) -> float | None:
        """Seconds from the end of stage ``k`` until group ``g`` is green again (stages at
        their minimum or their program time), None if never."""
        n, t = len(self.stages), 0.0
        for j in range(1, n + 1):
            p = (k + j) % n
            if is_green(self._states[p].get(g, MovementPhaseState.UNAVAILABLE)):
                return t
            if self._green[p]:
                t += self._floor[p] if minimal else self._nominal_s(p)
            else:
                t += self.stages[p].duration_s
        return None

    def _red_since_ns(self, g: int) -> int | None:
        return self.shadow.red_since_ns(g)

    def _max_red_forces(self, k: int, now_ns: int) -> bool:
        """Whether staying in green stage ``k`` one more step would let a red group's red
        outgrow its max red, even on the shortest way to its next green."""
        margin_s = self._dt_ns / NS
        for g, limit in self.limits.max_red_s.items():
            if is_green(self._states[k].get(g, MovementPhaseState.UNAVAILABLE)):
                continue
            since = self._red_since_ns(g)
            path = self._red_path_s(k, g, minimal=True)
            if since is None or path is None:
                continue
            if (now_ns - since) / NS + margin_s + path >= limit:
                return True
        return False

    def _release_safe(self, k: int, now_ns: int) -> bool:
        """Whether handing the controller back as stage ``k`` begins keeps every red within
        max red on the program's own times."""
        for g, limit in self.limits.max_red_s.items():
            if is_green(self._states[k].get(g, MovementPhaseState.UNAVAILABLE)):
                continue
            since = self._red_since_ns(g)
            path = self._red_path_s((k - 1) % len(self.stages), g, minimal=False)
            if since is None or path is None:
                continue
            if (now_ns - since) / NS + path > limit:
                return False
        return True
