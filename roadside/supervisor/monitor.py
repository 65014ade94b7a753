"""The safety monitor: every invariant of ``SafetyLimits`` checked on the signal states as they
are seen, step by step. Pure (time is the readings').

Usage::

    monitor = SafetyMonitor(limits)
    for reading in readings:                  # a ControllerReading per simulation step
        new = monitor.observe(reading)        # the violations this reading revealed
    monitor.counts                            # Counter[Invariant], monitor.violations: all

A green, amber or red that was already running at the first reading (or after the group was
UNAVAILABLE) has no known start: its length is not judged, the states after it are. Lengths are
measured between readings, so they are exact to the reading period (the simulation step).
``tolerance_s`` absorbs the rounding of ns clocks (default 1 ms).
"""

from __future__ import annotations

import collections
import copy
import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from roadside.supervisor.limits import SafetyLimits, is_amber, is_green
from vicoop.spat import ControllerReading, MovementPhaseState

__all__ = ["Invariant", "SafetyMonitor", "Violation"]

NS = 1_000_000_000
_Report = Callable[["Invariant", tuple[int, ...], str], None]


class Invariant(enum.Enum):
    """What a violation broke."""

    CONFLICTING_GREENS = "conflicting_greens"
    MIN_GREEN = "min_green"
    PED_WALK = "ped_walk"
    AMBER = "amber"
    CLEARANCE = "clearance"  # amber + all-red between conflicting greens (the intergreen)
    PED_CLEARANCE = "ped_clearance"
    MAX_RED = "max_red"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant at ``at_ns``: the groups involved and what was seen (s)."""

    invariant: Invariant
    at_ns: int
    groups: tuple[int, ...]
    detail: str


class _Kind(enum.Enum):
    GREEN = 1
    AMBER = 2
    RED = 3
    UNKNOWN = 4


def _kind(state: MovementPhaseState) -> _Kind:
    if state is MovementPhaseState.UNAVAILABLE:
        return _Kind.UNKNOWN
    if is_green(state):
        return _Kind.GREEN
    if is_amber(state):
        return _Kind.AMBER
    return _Kind.RED


@dataclass
class _Group:
    kind: _Kind = _Kind.UNKNOWN
    since_ns: int | None = None  # when ``kind`` began (None: not seen begin)
    green_end_ns: int | None = None  # the last green's end (None: not seen)
    red_reported: bool = False


@dataclass
class SafetyMonitor:
    """Checks the invariants of ``limits`` on each reading (see the module)."""

    limits: SafetyLimits
    tolerance_s: float = 0.001
    violations: list[Violation] = field(default_factory=list)
    counts: collections.Counter[Invariant] = field(default_factory=collections.Counter)
    _groups: dict[int, _Group] = field(default_factory=dict)
    _last_ns: int | None = None

    def copy(self) -> SafetyMonitor:
        """An independent copy (the supervisor projects a switch on one)."""
        return SafetyMonitor(
            self.limits,
            self.tolerance_s,
            [],
            collections.Counter(),
            copy.deepcopy(self._groups),
            self._last_ns,
        )

    def assume(self, since_ns: int, states: dict[int, MovementPhaseState]) -> None:
        """Take ``states`` as shown since ``since_ns`` (a controller's word for its current
        stage, before anything was seen): greens begun then, the other groups' greens ended
        then at the latest. The next observation judges from there."""
        for g, state in states.items():
            if g not in self.limits.min_green_s:
                continue
            kind = _kind(state)
            known = kind is not _Kind.UNKNOWN
            end = since_ns if known and kind is not _Kind.GREEN else None
            self._groups[g] = _Group(kind, since_ns if known else None, end)
        self._last_ns = since_ns

    def red_since_ns(self, group: int) -> int | None:
        """When ``group``'s green last ended, if it is not green now and that was seen."""
        st = self._groups.get(group)
        return None if st is None or st.kind is _Kind.GREEN else st.green_end_ns

    def observe(self, reading: ControllerReading) -> list[Violation]:
        """Judge ``reading`` (the states at ``reading.read_at_ns``); its violations, also kept
        in ``violations`` and counted in ``counts``."""
        return self.observe_states(
            reading.read_at_ns, {g.signal_group: g.state for g in reading.groups}
        )

    def observe_states(self, now_ns: int, states: dict[int, MovementPhaseState]) -> list[Violation]:
        """Judge the groups' ``states`` at ``now_ns`` (groups the limits do not know are
        ignored)."""
        if self._last_ns is not None and now_ns < self._last_ns:
            return []  # an older reading: the states after it were judged already
        self._last_ns = now_ns
        lim, tol = self.limits, self.tolerance_s
        found: list[Violation] = []

        def report(inv: Invariant, groups: tuple[int, ...], detail: str) -> None:
            v = Violation(inv, now_ns, groups, detail)
            found.append(v)

        kinds = {g: _kind(s) for g, s in states.items() if g in lim.min_green_s}
        greens = sorted(g for g, k in kinds.items() if k is _Kind.GREEN)
        for i, a in enumerate(greens):
            for b in greens[i + 1 :]:
                if (a, b) in lim.conflicts and (a, b) not in lim.co_green:
                    report(Invariant.CONFLICTING_GREENS, (a, b), f"groups {a} and {b} green")
        changed = []
        for g, kind in kinds.items():
            st = self._groups.setdefault(g, _Group())
            if kind is st.kind:
                continue
            changed.append(g)
            if kind is not _Kind.UNKNOWN:  # an end not seen is not judged
                self._ended(g, st, now_ns, report)
            if st.kind is _Kind.GREEN and kind is not _Kind.UNKNOWN:
                st.green_end_ns = now_ns
                st.red_reported = False
            if kind is _Kind.UNKNOWN:
                st.green_end_ns = None
        for g in changed:
            if kinds[g] is _Kind.GREEN:
                self._began_green(g, now_ns, kinds, report)
        for g in changed:
            st = self._groups[g]
            known = kinds[g] is not _Kind.UNKNOWN and st.kind is not _Kind.UNKNOWN
            st.kind, st.since_ns = kinds[g], (now_ns if known else None)
        for g, kind in kinds.items():
            st = self._groups[g]
            if (
                kind in (_Kind.AMBER, _Kind.RED)
                and st.green_end_ns is not None
                and not st.red_reported
                and (now_ns - st.green_end_ns) / NS > lim.max_red_s[g] + tol
            ):
                st.red_reported = True
                report(Invariant.MAX_RED, (g,), f"group {g} red over {lim.max_red_s[g]:g} s")
        self.violations.extend(found)
        self.counts.update(v.invariant for v in found)
        return found

    def _ended(self, g: int, st: _Group, now_ns: int, report: _Report) -> None:
        lim, tol = self.limits, self.tolerance_s
        if st.since_ns is None:
            return
        ran = (now_ns - st.since_ns) / NS
        if st.kind is _Kind.GREEN and ran + tol < lim.min_green_s[g]:
            inv = Invariant.PED_WALK if g in lim.crosswalk_groups else Invariant.MIN_GREEN
            report(inv, (g,), f"group {g} green {ran:g} s < {lim.min_green_s[g]:g} s")
        if st.kind is _Kind.AMBER and ran + tol < lim.amber_s[g]:
            report(Invariant.AMBER, (g,), f"group {g} amber {ran:g} s < {lim.amber_s[g]:g} s")

    def _began_green(self, g: int, now_ns: int, kinds: dict[int, _Kind], report: _Report) -> None:
        lim, tol = self.limits, self.tolerance_s
        for a in lim.conflicting(g):
            need = lim.intergreen_s.get((a, g))
            other = self._groups.get(a)
            if need is None or other is None or other.green_end_ns is None:
                continue
            if kinds.get(a) is _Kind.GREEN:
                continue  # green together: a conflict, reported as such
            gap = (now_ns - other.green_end_ns) / NS
            if gap + tol < need:
                inv = Invariant.PED_CLEARANCE if a in lim.crosswalk_groups else Invariant.CLEARANCE
                report(
                    inv,
                    (a, g),
                    f"group {g} green {gap:g} s after group {a}'s, needs {need:g} s",
                )
