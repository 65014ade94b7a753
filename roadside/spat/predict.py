"""The SPaT predictor: a controller's readings and its program in, J2735 SPaT out.

Pure and synchronous; time is passed in (``predictor.predict(reading, now_ns, demand)``). The
predictor keeps which phase of the program the controller is in and when that phase began
(from the groups' ``since_ns`` when the controller reports them, else between the reading that
still showed the old states and the one that showed the new), and walks the program from there:

- each group's current state ends at the first later phase that shows it another state; its
  end lies between the sum of the phases' shortest and the sum of their longest durations
  (the current phase counted from its start). Fixed time: every phase lasts its duration, so
  with a known start ``min_end == max_end == likely_end``. Actuated: a phase lasts ``min_ns`` to
  ``max_ns``, so ``min_end`` comes from the time spent against the minimum and ``max_end`` from
  the maximum; a red's bounds add up the phases that must come first, each at its min and max;
- ``likely_end`` from the demand the RSU sees (``roadside.spat.demand``): a green is held while
  road users keep reaching the detection point less than ``max_gap_s`` apart (SUMO's
  actuated gap-out), a later green lasts as long as its queue needs; without demand, the
  program's nominal durations. Always inside ``[min_end, max_end]``;
- bounds the controller gives itself (``GroupReading.min_end_ns``/``max_end_ns``) narrow the
  current state's window when they agree with the program's;
- readings whose states match no phase of the program, a program that shows two phases with
  the same states before the first change is seen, and a controller in manual control, failure
  flash or dark give states without times (``None``: unknown, never a guess), counted in
  ``stats``.

The guarantee the rig checks (``roadside.spat.check``) is ``min_end <= actual change <=
max_end``; it holds as long as the controller runs the program it was given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from roadside.spat.demand import GreenModel, likely_green_ns
from roadside.spat.program import Phase, SignalProgram
from vicoop.spat import (
    ControllerReading,
    ControlMode,
    MovementEvent,
    MovementPhaseState,
    Spat,
)

__all__ = ["PredictorStats", "SpatPredictor"]

_TIMED = (ControlMode.FIXED_TIME, ControlMode.ACTUATED, ControlMode.COORDINATED)


@dataclass
class PredictorStats:
    """What the predictor could not time, by reason (readings counted once each)."""

    readings: int = 0
    untimed_mode: int = 0  # manual, failure flash, dark, unknown
    unmatched: int = 0  # states that are no phase of the program
    ambiguous: int = 0  # several phases match and no change seen yet
    controller_disagrees: int = 0  # the controller's own bounds outside the program's


@dataclass(frozen=True, slots=True)
class _Window:
    lo: int
    hi: int
    likely: int


@dataclass
class SpatPredictor:
    """Predicts one intersection's SPaT from its controller's readings and ``program``.

    ``events_per_group``: how many states each group's SPaT lists (the current one and the ones
    that follow, J2735 ``state-time-speed``); ``tolerance_ns``: the half-width of the interval
    around ``likely_end`` that ``confidence`` is the probability of; ``green``: the gap-out
    model of actuated greens.
    """

    intersection_id: str
    program: SignalProgram
    events_per_group: int = 2
    tolerance_ns: int = 100_000_000
    green: GreenModel = field(default_factory=GreenModel)
    stats: PredictorStats = field(default_factory=PredictorStats)
    _phase: int | None = None
    _start_lo: int = 0
    _start_hi: int = 0
    _states: tuple[MovementPhaseState, ...] | None = None
    _mode: ControlMode | None = None
    _last_read_ns: int | None = None
    _revision: int = 0

    def predict(
        self,
        reading: ControllerReading,
        now_ns: int,
        demand: Mapping[int, Sequence[float]] | None = None,
    ) -> Spat:
        """The SPaT at ``now_ns`` from ``reading`` (the controller's latest); ``demand`` maps a
        signal group to the times (s from ``now_ns``, negative: already passed) its road users
        reach the detection point of its ingress lanes (``roadside.spat.demand.arrivals``), or
        None when the RSU sees no traffic to go by."""
        self.stats.readings += 1
        program = self.program
        by_group = {g.signal_group: g for g in reading.groups}
        states = tuple(
            by_group[g].state if g in by_group else MovementPhaseState.UNAVAILABLE
            for g in program.groups
        )
        if states != self._states or reading.mode != self._mode:
            self._revision = (self._revision + 1) % 128
        changed = self._states is not None and states != self._states
        previous_read = self._last_read_ns
        self._states, self._mode, self._last_read_ns = states, reading.mode, reading.read_at_ns

        if reading.mode not in _TIMED:
            self.stats.untimed_mode += 1
            self._phase = None
            return self._untimed(reading, states, now_ns)
        candidates = [k for k, p in enumerate(program.phases) if p.states == states]
        if not candidates:
            self.stats.unmatched += 1
            self._phase = None
            return self._untimed(reading, states, now_ns)
        since = [g.since_ns for g in reading.groups if g.since_ns is not None]
        if self._phase is not None and changed:
            n = len(program.phases)
            self._phase = next(
                (self._phase + k) % n
                for k in range(1, n + 1)
                if (self._phase + k) % n in candidates
            )
            if len(since) == len(reading.groups) and since:
                self._start_lo = self._start_hi = max(since)
            else:
                self._start_lo = previous_read if previous_read is not None else reading.read_at_ns
                self._start_hi = reading.read_at_ns
        elif self._phase is None or self._phase not in candidates:
            if len(candidates) > 1:
                self.stats.ambiguous += 1
                self._phase = None
                return self._untimed(reading, states, now_ns)
            self._phase = candidates[0]
            phase = program.phases[self._phase]
            if len(since) == len(reading.groups) and since:
                self._start_lo = self._start_hi = max(since)
            else:  # started at most its longest duration ago
                self._start_lo = reading.read_at_ns - self._longest(phase, reading.mode)
                self._start_hi = reading.read_at_ns
        elif len(since) == len(reading.groups) and since:
            # The same states as before, but the controller says when they began: believe it
            # (a cycle may have gone by between two readings that show the same phase).
            self._start_lo = self._start_hi = max(since)
        return self._timed(reading, states, now_ns, demand)

    # ---- internals ----

    def _shortest(self, phase: Phase, mode: ControlMode) -> int:
        return phase.duration_ns if mode == ControlMode.FIXED_TIME else phase.min_ns

    def _longest(self, phase: Phase, mode: ControlMode) -> int:
        return phase.duration_ns if mode == ControlMode.FIXED_TIME else phase.max_ns

    def _untimed(
        self, reading: ControllerReading, states: tuple[MovementPhaseState, ...], now_ns: int
    ) -> Spat:
        movements = tuple(
            MovementEvent(g, s, None, None, None, 0.0)
            for g, s in zip(self.program.groups, states, strict=True)
        )
        return Spat(self.intersection_id, now_ns, self._revision, reading.mode, movements)

    def _confidence(self, w: _Window) -> float:
        width = w.hi - w.lo
        if width <= 2 * self.tolerance_ns:
            return 1.0
        return round(2 * self.tolerance_ns / width, 3)  # the likely interval, spread uniformly

    def _phase_windows(
        self, now_ns: int, mode: ControlMode, demand: Mapping[int, Sequence[float]] | None
    ) -> list[tuple[int, _Window]]:
        """(phase index, window of the phase's end) for the current phase and the
        ``2 * len(phases)`` after it: enough for every group to change twice."""
        assert self._phase is not None
        program = self.program
        n = len(program.phases)
        out = []
        phase = program.phases[self._phase]
        lo = max(now_ns, self._start_lo + self._shortest(phase, mode))
        hi = max(lo, self._start_hi + self._longest(phase, mode))
        start_mid = (self._start_lo + self._start_hi) // 2
        likely = self._likely_end(self._phase, start_mid, now_ns, mode, demand)
        w = _Window(lo, hi, min(max(likely, lo), hi))
        out.append((self._phase, w))
        for k in range(1, 2 * n + 1):
            j = (self._phase + k) % n
            phase = program.phases[j]
            likely = self._likely_end(j, w.likely, now_ns, mode, demand)
            w = _Window(
                w.lo + self._shortest(phase, mode),
                w.hi + self._longest(phase, mode),
                0,
            )
            w = _Window(w.lo, w.hi, min(max(likely, w.lo), w.hi))
            out.append((j, w))
        return out

    def _likely_end(
        self,
        j: int,
        start_ns: int,
        now_ns: int,
        mode: ControlMode,
        demand: Mapping[int, Sequence[float]] | None,
    ) -> int:
        """The likely end of phase ``j`` begun at ``start_ns``."""
        phase = self.program.phases[j]
        if mode == ControlMode.FIXED_TIME or phase.min_ns == phase.max_ns:
            return start_ns + phase.duration_ns
        greens = [
            g for g, s in zip(self.program.groups, phase.states, strict=True) if s.may_proceed
        ]
        if demand is None or not greens:
            return start_ns + phase.duration_ns
        times = sorted(t for g in greens for t in demand.get(g, ()))
        return start_ns + likely_green_ns(
            times, (start_ns - now_ns) / 1e9, phase.min_ns, phase.max_ns, self.green
        )

    def _timed(
        self,
        reading: ControllerReading,
        states: tuple[MovementPhaseState, ...],
        now_ns: int,
        demand: Mapping[int, Sequence[float]] | None,
    ) -> Spat:
        program = self.program
        windows = self._phase_windows(now_ns, reading.mode, demand)
        by_group = {g.signal_group: g for g in reading.groups}
        movements: list[MovementEvent] = []
        for i, group in enumerate(program.groups):
            state = states[i]
            events: list[MovementEvent] = []
            for k, (_, w) in enumerate(windows):
                nxt = windows[k + 1][0] if k + 1 < len(windows) else None
                if nxt is None:
                    break
                following = program.phases[nxt].states[i]
                if following == state:
                    continue
                if not events:
                    w = self._narrow(w, by_group.get(group))
                events.append(
                    MovementEvent(group, state, w.lo, w.hi, w.likely, self._confidence(w))
                )
                state = following
                if len(events) == self.events_per_group:
                    break
            if not events:  # the state never changes in the program
                events.append(MovementEvent(group, state, None, None, None, 0.0))
            movements.extend(events)
        return Spat(self.intersection_id, now_ns, self._revision, reading.mode, tuple(movements))

    def _narrow(self, w: _Window, reported: object) -> _Window:
        """The current state's window narrowed by the controller's own bounds, if it gives
        any that agree with the program's."""
        lo_r = getattr(reported, "min_end_ns", None)
        hi_r = getattr(reported, "max_end_ns", None)
        lo = max(w.lo, lo_r) if lo_r is not None else w.lo
        hi = min(w.hi, hi_r) if hi_r is not None else w.hi
        if lo > hi:
            self.stats.controller_disagrees += 1
            return w
        return _Window(lo, hi, min(max(w.likely, lo), hi))
