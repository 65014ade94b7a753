"""A signal controller's program as the SPaT predictor needs it: phases in cycle order, each
with every signal group's state and the phase's duration bounds.

Fixed time: every phase lasts exactly ``duration_ns``. Actuated (SUMO's ``actuated``, an
NTCIP controller's green extension): a phase lasts between ``min_ns`` and ``max_ns``, the
controller choosing from its detectors; ``duration_ns`` is the nominal length (SUMO's
``duration``), used as the likely one when nothing better is known. Clearance (amber) and
all-red phases have ``min_ns == max_ns``.

States are written as SUMO's link letters, in the order of ``SignalProgram.groups`` (the same
letters in a SUMO ``tlLogic`` and in the site file's ``program``), read with J2735 semantics:

==========  ==========================================  =====================================
letter      SUMO                                        J2735 ``MovementPhaseState``
==========  ==========================================  =====================================
``G``       green, priority                             protected-movement-allowed
``g``       green, yield to conflicting traffic         permissive-movement-allowed
``y``       amber                                       protected- or permissive-clearance
                                                        (after a ``G`` or a ``g`` green)
``u``       red + amber                                 pre-movement
``r``       red                                         stop-and-remain
``s``       stop, then go (green arrow on red)          stop-then-proceed
``o``       off, blinking amber                         caution-conflicting-traffic
``O``       off, no signal                              dark
==========  ==========================================  =====================================

Pure data and functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vicoop.spat import ControlMode, MovementPhaseState

__all__ = ["LETTERS", "Phase", "ProgramError", "SignalProgram", "states_from_letters"]

S = MovementPhaseState
LETTERS: dict[str, MovementPhaseState] = {
    "G": S.PROTECTED_MOVEMENT_ALLOWED,
    "g": S.PERMISSIVE_MOVEMENT_ALLOWED,
    "u": S.PRE_MOVEMENT,
    "r": S.STOP_AND_REMAIN,
    "s": S.STOP_THEN_PROCEED,
    "o": S.CAUTION_CONFLICTING_TRAFFIC,
    "O": S.DARK,
}
_CLEARANCE = "y"


class ProgramError(ValueError):
    """A signal program that cannot run; the message names the field and says why."""


def states_from_letters(phases: Sequence[str]) -> list[tuple[MovementPhaseState, ...]]:
    """Each phase's letters (one per group, same length in every phase) as J2735 states.

    An amber ``y`` is protected clearance when the last non-amber phase before it (going back
    round the cycle) showed ``G`` for that group, permissive clearance otherwise."""
    if not phases:
        raise ProgramError("phases: a program needs at least one phase")
    width = len(phases[0])
    for k, letters in enumerate(phases):
        if len(letters) != width:
            raise ProgramError(f"phases[{k}].state: {len(letters)} letters, phase 0 has {width}")
        for i, ch in enumerate(letters):
            if ch != _CLEARANCE and ch not in LETTERS:
                raise ProgramError(
                    f"phases[{k}].state[{i}]: unknown letter {ch!r} (one of G g y u r s o O)"
                )
    out = []
    n = len(phases)
    for k, letters in enumerate(phases):
        row = []
        for i, ch in enumerate(letters):
            if ch != _CLEARANCE:
                row.append(LETTERS[ch])
                continue
            before = next(
                (phases[(k - j) % n][i] for j in range(1, n) if phases[(k - j) % n][i] != "y"),
                "g",
            )
            row.append(S.PROTECTED_CLEARANCE if before == "G" else S.PERMISSIVE_CLEARANCE)
        out.append(tuple(row))
    return out


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase: ``states`` (one per ``SignalProgram.groups``), its nominal duration and its
    bounds (ns; ``min_ns <= duration_ns <= max_ns``, all > 0)."""

    states: tuple[MovementPhaseState, ...]
    duration_ns: int
    min_ns: int
    max_ns: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class SignalProgram:
    """A controller's program for one intersection: ``groups`` (J2735 signal group ids, the
    order of every phase's states), ``phases`` in cycle order, how it runs (``mode``: fixed
    time or actuated) and its ``offset_ns`` in the coordination cycle."""

    groups: tuple[int, ...]
    phases: tuple[Phase, ...]
    mode: ControlMode = ControlMode.FIXED_TIME
    offset_ns: int = 0

    def __post_init__(self) -> None:
        if not self.groups:
            raise ProgramError("groups: a program needs at least one signal group")
        if len(set(self.groups)) != len(self.groups):
            raise ProgramError(f"groups: a group appears twice in {list(self.groups)}")
        for i, g in enumerate(self.groups):
            if not 1 <= g <= 255:
                raise ProgramError(f"groups[{i}]: signal group must be 1..255, got {g}")
        if not self.phases:
            raise ProgramError("phases: a program needs at least one phase")
        for k, p in enumerate(self.phases):
            if len(p.states) != len(self.groups):
                raise ProgramError(
                    f"phases[{k}].state: {len(p.states)} states for {len(self.groups)} groups"
                )
            if not 0 < p.min_ns <= p.duration_ns <= p.max_ns:
                raise ProgramError(
                    f"phases[{k}]: needs 0 < min <= duration <= max, got "
                    f"{p.min_ns / 1e9:g} <= {p.duration_ns / 1e9:g} <= {p.max_ns / 1e9:g} s"
                )

    @property
    def cycle_ns(self) -> int:
        """The nominal cycle (the sum of the phases' durations)."""
        return sum(p.duration_ns for p in self.phases)

    def merged(self) -> SignalProgram:
        """The same program with runs of consecutive phases that show the same states merged
        into one (their durations and bounds added): a controller's phases that differ only in
        links of another junction look the same from this one, and the predictor tells phases
        apart by their states."""
        rows: list[Phase] = []
        for p in self.phases:
            if rows and rows[-1].states == p.states:
                q = rows[-1]
                rows[-1] = Phase(
                    q.states,
                    q.duration_ns + p.duration_ns,
                    q.min_ns + p.min_ns,
                    q.max_ns + p.max_ns,
                    q.name or p.name,
                )
            else:
                rows.append(p)
        if len(rows) > 1 and rows[0].states == rows[-1].states:  # the cycle wraps round
            last, first = rows.pop(), rows[0]
            rows[0] = Phase(
                first.states,
                last.duration_ns + first.duration_ns,
                last.min_ns + first.min_ns,
                last.max_ns + first.max_ns,
                first.name or last.name,
            )
        return SignalProgram(self.groups, tuple(rows), self.mode, self.offset_ns)

    def index(self, group: int) -> int:
        """The position of ``group`` in every phase's states (ValueError if not in it)."""
        return self.groups.index(group)

    @staticmethod
    def from_letters(
        groups: Sequence[int],
        phases: Sequence[tuple[str, float, float | None, float | None]],
        mode: ControlMode = ControlMode.FIXED_TIME,
        offset_s: float = 0.0,
    ) -> SignalProgram:
        """A program from ``(letters, duration_s, min_s, max_s)`` per phase (``None`` bounds:
        the duration), the letters in ``groups`` order (see the module's table)."""
        states = states_from_letters([letters for letters, *_ in phases])

        def ns(s: float) -> int:
            return round(s * 1e9)

        return SignalProgram(
            tuple(groups),
            tuple(
                Phase(
                    row,
                    ns(duration),
                    ns(duration if lo is None else min(lo, duration)),
                    ns(duration if hi is None else max(hi, duration)),
                )
                for row, (_, duration, lo, hi) in zip(states, phases, strict=True)
            ),
            mode,
            ns(offset_s),
        )
