"""A SUMO traffic light as a signal controller, read through libsumo (in-process) or TraCI.

Per read: ``trafficlight.getRedYellowGreenState`` (one letter per controlled link),
``getProgram``, ``getPhase``, ``getSpentDuration``, ``getNextSwitch`` and the program's phases
from ``getAllProgramLogics`` (duration, minDur, maxDur). A signal group is a set of link indices
(configuration; by default link i is group i + 1), whose letters must agree (if they do not,
the group is UNAVAILABLE and ``group_links_disagree`` counted). SUMO's letters:

=====  ========================================================================
``G``  PROTECTED_MOVEMENT_ALLOWED (green, priority)
``g``  PERMISSIVE_MOVEMENT_ALLOWED (green, yield to conflicting traffic)
``y``  PROTECTED_CLEARANCE or PERMISSIVE_CLEARANCE, after the group's last green's kind
``u``  PRE_MOVEMENT (red + amber)
``r``  STOP_AND_REMAIN
``s``  STOP_THEN_PROCEED (stop, then go: a green arrow beside a red)
``o``  CAUTION_CONFLICTING_TRAFFIC (off, blinking amber: yield)
``O``  DARK (off, no signal)
=====  ========================================================================

Timing: a group's state ends when the program reaches a phase where its letter differs. The
current phase ends at ``getNextSwitch`` in a static program (exact, so ``min_end_ns ==
max_end_ns``), and between start + minDur and start + maxDur (start = now - spent) in an
actuated one; each later phase the state runs through adds its duration (static) or its
[minDur, maxDur]. A program whose phases branch (``next``) is only bounded to the end of the
current phase. While the safety supervisor holds the light (the write side, ``execute``), the
mode is COORDINATED and no end is given (the supervisor, not SUMO, ends the phase: SUMO's own
next switch is a day away). SUMO's simulation seconds are mapped to the RSU clock at the read (the reading's
``read_at_ns`` is the clock, ends are ``read_at_ns + (end - now) s``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from roadside.controllers.base import (
    AdapterStats,
    ControllerError,
    ControllerProgram,
    Decision,
    GroupTiming,
    S,
    Stage,
    StageState,
    StalePolicy,
)
from roadside.controllers.config import SumoControllerConfig
from vicoop.spat import ControllerReading, ControlMode, GroupReading, MovementPhaseState

LETTERS = {
    "G": MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED,
    "g": MovementPhaseState.PERMISSIVE_MOVEMENT_ALLOWED,
    "u": MovementPhaseState.PRE_MOVEMENT,
    "r": MovementPhaseState.STOP_AND_REMAIN,
    "s": MovementPhaseState.STOP_THEN_PROCEED,
    "o": MovementPhaseState.CAUTION_CONFLICTING_TRAFFIC,
    "O": MovementPhaseState.DARK,
}
STATIC = 0  # libsumo.constants.TRAFFICLIGHT_TYPE_STATIC
HOLD_S = 86_400.0  # a supervised phase's duration: SUMO never ends it, the supervisor does


@dataclass(frozen=True, slots=True)
class SumoPhase:
    """One phase of a SUMO program: its state string and durations, simulation seconds."""

    state: str
    duration_s: float
    min_s: float
    max_s: float
    branches: bool = False


def group_letter(state: str, links: Sequence[int]) -> str:
    """The one letter of ``links`` in ``state``; raises if they differ or a link is missing."""
    if any(i >= len(state) for i in links):
        raise ControllerError("bad_link", f"link {max(links)} not in a state of {len(state)}")
    letters = {state[i] for i in links}
    if len(letters) != 1:
        raise ControllerError(
            "group_links_disagree", f"links {list(links)} show {''.join(sorted(letters))}"
        )
    return letters.pop()


def letter_state(phases: Sequence[SumoPhase], at: int, links: Sequence[int]) -> MovementPhaseState:
    """The J2735 state of ``links`` in phase ``at``: ``y`` is the clearance after the group's
    last green before it (permissive if none is found in a cycle)."""
    letter = group_letter(phases[at].state, links)
    if letter in LETTERS:
        return LETTERS[letter]
    if letter != "y":
        raise ControllerError("bad_letter", f"state letter {letter!r}")
    n = len(phases)
    for k in range(1, n):
        before = group_letter(phases[(at - k) % n].state, links)
        if before in "Gg":
            return (
                MovementPhaseState.PROTECTED_CLEARANCE
                if before == "G"
                else MovementPhaseState.PERMISSIVE_CLEARANCE
            )
        if before != "y":
            break
    return MovementPhaseState.PERMISSIVE_CLEARANCE


def end_window(
    phases: Sequence[SumoPhase],
    current: int,
    links: Sequence[int],
    static: bool,
    now_s: float,
    spent_s: float,
    next_switch_s: float,
) -> tuple[float | None, float | None]:
    """Earliest and latest simulation second the state of ``links`` ends (see the module)."""
    state = letter_state(phases, current, links)
    p = phases[current]
    if static:
        lo = hi = next_switch_s
    else:
        start = now_s - spent_s
        lo, hi = max(now_s, start + p.min_s), max(now_s, start + p.max_s)
    n = len(phases)
    branching = any(q.branches for q in phases)
    for k in range(1, n + 1):
        i = (current + k) % n
        if letter_state(phases, i, links) != state:
            return lo, hi
        if branching:
            return None, None
        q = phases[i]
        lo += q.duration_s if static else q.min_s
        hi += q.duration_s if static else q.max_s
    return None, None  # the state never changes in a cycle


def since_s(
    phases: Sequence[SumoPhase],
    current: int,
    links: Sequence[int],
    static: bool,
    now_s: float,
    spent_s: float,
) -> float | None:
    """The simulation second the state of ``links`` began (None: not known, an actuated
    program's earlier phases have no fixed length)."""
    state = letter_state(phases, current, links)
    start = now_s - spent_s
    n = len(phases)
    for k in range(1, n):
        i = (current - k) % n
        if letter_state(phases, i, links) != state:
            return start
        if not static:
            return None
        start -= phases[i].duration_s
    return None


def program_of(
    intersection_id: str,
    phases: Sequence[SumoPhase],
    groups: Sequence[tuple[int, tuple[int, ...]]],
    mode: ControlMode,
) -> ControllerProgram:
    """The program as stages and timing per group (green runs' summed minDur/maxDur, the
    amber after it, the all-red after that)."""
    n = len(phases)
    states = [[letter_state(phases, i, links) for _, links in groups] for i in range(n)]
    stages = tuple(
        Stage(
            i,
            p.duration_s,
            p.min_s,
            p.max_s,
            tuple((g, s) for (g, _), s in zip(groups, states[i], strict=True)),
        )
        for i, p in enumerate(phases)
    )
    timings = []
    for j, (group, _) in enumerate(groups):
        mins: list[float] = []
        maxs: list[float] = []
        yellows: list[float] = []
        reds: list[float] = []
        for i in range(n):
            if not states[i][j].may_proceed or states[(i - 1) % n][j].may_proceed:
                continue
            k, lo, hi = i, 0.0, 0.0
            while states[k % n][j].may_proceed and k < i + n:
                lo, hi, k = lo + phases[k % n].min_s, hi + phases[k % n].max_s, k + 1
            mins.append(lo)
            maxs.append(hi)
            amber = 0.0
            while states[k % n][j].name.endswith("CLEARANCE") and k < i + 2 * n:
                amber, k = amber + phases[k % n].duration_s, k + 1
            yellows.append(amber)
            red = 0.0
            while k < i + 2 * n and not any(s.may_proceed for s in states[k % n]):
                red, k = red + phases[k % n].duration_s, k + 1
            reds.append(red)
        timings.append(
            GroupTiming(
                group,
                min(mins) if mins else None,
                max(maxs) if maxs else None,
                max(yellows) if yellows else None,
                min(reds) if reds else None,
            )
        )
    cycle = sum(p.duration_s for p in phases) if mode is ControlMode.FIXED_TIME else None
    return ControllerProgram(intersection_id, mode, tuple(timings), stages, cycle)


class SumoAdapter:
    """Reads the traffic light ``config.tls_id``; ``traci`` is the module or connection to
    read through (libsumo, a ``traci`` connection, or anything with ``.trafficlight``), by
    default the one ``config.backend`` names."""

    name = "sumo"

    def __init__(
        self,
        config: SumoControllerConfig,
        clock: Callable[[], int] = time.time_ns,
        traci: Any = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.intersection_id = config.intersection_id
        self.stale_after_s = config.stale_after_s
        self.stats = AdapterStats()
        self.policy = StalePolicy(config.stale_after_s)
        self.traci = traci
        self._own_connection = False
        self.last: ControllerReading | None = None
        # The groups an UNAVAILABLE reading lists: configured, or learnt from the first read.
        self.signal_groups = tuple(g.signal_group for g in config.groups)
        self._source = f"{config.intersection_id} (SUMO {config.tls_id})"
        self.holding = False  # a supervised phase is held (SUMO does not switch on its own)

    async def start(self) -> None:
        if self.traci is not None:
            return
        if self.config.backend == "libsumo":
            import libsumo

            self.traci = libsumo
        else:
            import traci

            # By keyword: traci.connect's second parameter is numRetries, not the host.
            self.traci = traci.connect(port=self.config.traci_port, host=self.config.traci_host)
            self._own_connection = True

    async def stop(self) -> None:
        if self._own_connection and self.traci is not None:
            self.traci.close()
            self.traci = None
            self._own_connection = False

    def _groups(self, state: str) -> list[tuple[int, tuple[int, ...]]]:
        if self.config.groups:
            return [(g.signal_group, g.links) for g in self.config.groups]
        return [(i + 1, (i,)) for i in range(min(len(state), 255))]

    def _phases(self) -> tuple[str, list[SumoPhase], bool]:
        tl = self.traci.trafficlight
        tls = self.config.tls_id
        program_id = str(tl.getProgram(tls))
        for logic in tl.getAllProgramLogics(tls):
            if logic.programID == program_id:
                n = len(logic.phases)
                phases = [
                    SumoPhase(
                        str(p.state),
                        float(p.duration),
                        float(p.minDur),
                        float(p.maxDur),
                        # SUMO lists the following phase as ``next`` in actuated programs:
                        # only another phase (or several) is a branch.
                        tuple(int(i) for i in p.next) not in ((), ((k + 1) % n,)),
                    )
                    for k, p in enumerate(logic.phases)
                ]
                return program_id, phases, int(logic.type) == STATIC
        return program_id, [], True

    def _state(self) -> str:
        return str(self.traci.trafficlight.getRedYellowGreenState(self.config.tls_id))

    def poll(self) -> ControllerReading | None:
        """Read SUMO now; the reading, or None if it failed (counted, logged)."""
        try:
            reading = self._read()
        except ControllerError as exc:
            self.stats.reject(exc.reason, exc.detail, self._source)
            return None
        except Exception as exc:  # libsumo's TraCIException: no such light, SUMO closed
            self.stats.reject("sumo_error", f"{type(exc).__name__}: {exc}", self._source)
            return None
        self.last = reading
        self.signal_groups = tuple(g.signal_group for g in reading.groups)
        self.stats.accepted += 1
        self.stats.last_good_ns = reading.read_at_ns
        return reading

    def _read(self) -> ControllerReading:
        tl = self.traci.trafficlight
        tls = self.config.tls_id
        read_at = self.clock()
        now_s = float(self.traci.simulation.getTime())
        state = self._state()
        current = int(tl.getPhase(tls))
        spent = float(tl.getSpentDuration(tls))
        next_switch = float(tl.getNextSwitch(tls))
        program_id, phases, static = self._phases()
        if program_id == "off":
            mode = ControlMode.DARK
        else:
            mode = ControlMode.FIXED_TIME if static else ControlMode.ACTUATED
        if not phases or current >= len(phases) or phases[current].state != state:
            # no program to walk (or SUMO's state was set directly): the letters only
            phases, current = [SumoPhase(state, 0.0, 0.0, 0.0, branches=True)], 0
            timed = False
        else:
            timed = True

        def at(sim_s: float | None) -> int | None:
            return None if sim_s is None else read_at + round((sim_s - now_s) * S)

        groups = []
        for group, links in self._groups(state):
            try:
                s = letter_state(phases, current, links)
            except ControllerError as exc:
                self.stats.reject(exc.reason, exc.detail, self._source)
                groups.append(GroupReading(group, MovementPhaseState.UNAVAILABLE))
                continue
            if not timed:
                groups.append(GroupReading(group, s))
                continue
            began = since_s(phases, current, links, static, now_s, spent)
            if self.holding:  # the supervisor ends the phase: its end is not SUMO's to say
                groups.append(GroupReading(group, s, at(began)))
                continue
            lo, hi = end_window(phases, current, links, static, now_s, spent, next_switch)
            groups.append(GroupReading(group, s, at(began), at(lo), at(hi)))
        if self.holding:
            mode = ControlMode.COORDINATED
        return ControllerReading(self.intersection_id, read_at, mode, tuple(groups))

    async def read(self) -> ControllerReading:
        """SUMO's state now (SUMO answers in-process: each read is a fresh one)."""
        self.poll()
        return self.policy.apply(
            self.last,
            self.stats.last_good_ns,
            self.clock(),
            self.intersection_id,
            self.signal_groups,
        )

    def on_reading(self, callback: Callable[[], None] | None) -> None:
        """Never called: SUMO answers each ``read`` in-process, there is nothing to push."""

    async def program(self) -> ControllerProgram:
        program_id, phases, static = self._phases()
        if program_id == "off":
            mode = ControlMode.DARK
        else:
            mode = ControlMode.FIXED_TIME if static else ControlMode.ACTUATED
        if not phases:
            return ControllerProgram(self.intersection_id, mode, ())
        return program_of(self.intersection_id, phases, self._groups(phases[0].state), mode)

    # -- the write side (``ControllerWriter``): the safety supervisor's decisions ----------

    def stage_state(self) -> StageState | None:
        """The phase SUMO shows (its index in the running program) and since when (RSU
        clock, from ``getSpentDuration``); None if SUMO cannot say (counted)."""
        try:
            tl = self.traci.trafficlight
            tls = self.config.tls_id
            phase = int(tl.getPhase(tls))
            spent = float(tl.getSpentDuration(tls))
        except Exception as exc:  # libsumo's TraCIException: no such light, SUMO closed
            self.stats.reject("sumo_error", f"{type(exc).__name__}: {exc}", self._source)
            return None
        return StageState(phase, self.clock() - round(spent * S))

    def execute(self, decision: Decision) -> None:
        """Do what the supervisor decided: while ``supervised``, show ``decision.stage``
        (``setPhase`` when it is not the current one) held (``setPhaseDuration`` of a day, so
        SUMO never ends it on its own); when handed back, restart ``decision.stage`` for its
        nominal duration (``setPhase`` + ``setPhaseDuration``: SUMO keeps a duration set on an
        actuated program's later phases otherwise), SUMO running its program from there. Errors are
        counted (``sumo_error``), never raised."""
        tl = self.traci.trafficlight
        tls = self.config.tls_id
        try:
            if decision.supervised:
                if int(tl.getPhase(tls)) != decision.stage:
                    tl.setPhase(tls, decision.stage)
                    self.holding = False
                if not self.holding:
                    tl.setPhaseDuration(tls, HOLD_S)
                    self.holding = True
            elif self.holding:
                # setPhaseDuration outlives setPhase in an actuated program: the released
                # phase gets its own nominal duration, the phases after it the program's.
                _, phases, _ = self._phases()
                tl.setPhase(tls, decision.stage)
                if decision.stage < len(phases):
                    tl.setPhaseDuration(tls, phases[decision.stage].duration_s)
                self.holding = False
        except Exception as exc:
            self.stats.reject("sumo_error", f"{type(exc).__name__}: {exc}", self._source)

    async def stage(self) -> StageState | None:
        return self.stage_state()

    async def apply(self, decision: Decision) -> None:
        self.execute(decision)
