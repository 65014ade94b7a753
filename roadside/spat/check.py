"""Checks SPaT predictions against the changes that happened: what the rig reports.

Feed it, in time order, every prediction made (``record(spat)``) and every controller reading
(``observe(reading)``). When a group's state changes, every prediction made for the state that
ended is judged: a change before its ``min_end`` or after its ``max_end`` is a defect (counted,
and the first ``keep_defects`` kept with what was predicted and what happened), and its
``likely_end`` error is kept. The change happens at the new state's ``since_ns`` when the
controller reports it, else at the reading that first shows it.

Only each group's current event (its first in the SPaT) is judged: later events are judged once
they become current. Pure, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vicoop.spat import ControllerReading, MovementPhaseState, Spat

__all__ = ["Defect", "SpatCheck", "SpatChecker"]


@dataclass(frozen=True, slots=True)
class Defect:
    """A change outside its predicted window."""

    signal_group: int
    state: MovementPhaseState
    predicted_at_ns: int
    min_end_ns: int | None
    max_end_ns: int | None
    changed_at_ns: int


@dataclass(frozen=True, slots=True)
class SpatCheck:
    """The figures: changes seen, those outside a window predicted for them, predictions
    judged and outside, and the ``likely_end`` error (s) over judged predictions."""

    changes: int
    changes_outside: int
    predictions: int
    predictions_outside: int
    untimed: int  # predictions judged that had no window (unknown end)
    likely_error_p50_s: float | None
    likely_error_p90_s: float | None
    likely_error_max_s: float | None
    defects: tuple[Defect, ...]


@dataclass
class SpatChecker:
    """Judges one intersection's predictions (see the module)."""

    keep_defects: int = 100
    _state: dict[int, MovementPhaseState] = field(default_factory=dict)
    _pending: dict[int, list[tuple[int, int | None, int | None, int | None]]] = field(
        default_factory=dict
    )
    _errors: list[float] = field(default_factory=list)
    _defects: list[Defect] = field(default_factory=list)
    changes: int = 0
    changes_outside: int = 0
    predictions: int = 0
    predictions_outside: int = 0
    untimed: int = 0

    def record(self, spat: Spat) -> None:
        """A prediction made at ``spat.valid_at_ns``: each group's first event is kept for
        judging when the group's state changes."""
        seen: set[int] = set()
        for e in spat.movements:
            if e.signal_group in seen:
                continue
            seen.add(e.signal_group)
            if self._state.get(e.signal_group) != e.state:
                continue  # not the state the controller last showed: nothing to judge
            self._pending.setdefault(e.signal_group, []).append(
                (spat.valid_at_ns, e.min_end_ns, e.max_end_ns, e.likely_end_ns)
            )

    def observe(self, reading: ControllerReading) -> None:
        """A controller reading: judges the predictions of every group whose state changed."""
        for g in reading.groups:
            before = self._state.get(g.signal_group)
            self._state[g.signal_group] = g.state
            if before is None or before == g.state:
                continue
            at = g.since_ns if g.since_ns is not None else reading.read_at_ns
            self._judge(g.signal_group, before, at)

    def _judge(self, group: int, state: MovementPhaseState, at: int) -> None:
        self.changes += 1
        outside = False
        for made, lo, hi, likely in self._pending.pop(group, []):
            self.predictions += 1
            if lo is None and hi is None:
                self.untimed += 1
                continue
            if (lo is not None and at < lo) or (hi is not None and at > hi):
                self.predictions_outside += 1
                outside = True
                if len(self._defects) < self.keep_defects:
                    self._defects.append(Defect(group, state, made, lo, hi, at))
            if likely is not None:
                self._errors.append(abs(likely - at) / 1e9)
        if outside:
            self.changes_outside += 1

    @property
    def likely_errors_s(self) -> tuple[float, ...]:
        """Every judged prediction's ``likely_end`` error (s), to pool over intersections."""
        return tuple(self._errors)

    def report(self) -> SpatCheck:
        """The figures so far."""
        errors = np.asarray(self._errors)

        def q(p: float) -> float | None:
            return round(float(np.percentile(errors, p)), 4) if len(errors) else None

        return SpatCheck(
            self.changes,
            self.changes_outside,
            self.predictions,
            self.predictions_outside,
            self.untimed,
            q(50),
            q(90),
            q(100),
            tuple(self._defects),
        )
