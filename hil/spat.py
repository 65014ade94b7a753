"""SUMO's traffic lights as a controller adapter reports them: ``ControllerReading``s.

What the rig's simulated controller says about one junction at each step, read through libsumo
(``trafficlight`` getters only): each signal group's J2735 state from the light's letters
(``hil.intersection`` groups the links), since when the group shows it (the step the light's
current phase began, ``getSpentDuration``, when the group's state changed then; unknown for a
group whose state has not changed since the adapter started), and the control mode from the
program's type. No detectors, no vehicle lists: what the predictor learns about traffic comes
from the RSU's own view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hil.intersection import SumoIntersection
from roadside.spat.program import LETTERS
from vicoop.spat import ControllerReading, ControlMode, GroupReading, MovementPhaseState

__all__ = ["SumoSignalController"]

_CLEAR = (MovementPhaseState.PROTECTED_CLEARANCE, MovementPhaseState.PERMISSIVE_CLEARANCE)


@dataclass
class SumoSignalController:
    """Reads ``intersection``'s traffic light from the running libsumo simulation."""

    intersection: SumoIntersection
    mode: ControlMode | None = None  # None: from the program's type
    step_ns: int = 1_000_000  # since_ns is rounded to this (SUMO's times are whole steps)
    _last: dict[int, GroupReading] = field(default_factory=dict)

    def _clearance(self, group: int) -> MovementPhaseState:
        """An amber's J2735 state: the one the program gives this group's amber."""
        program = self.intersection.program
        i = program.index(group)
        return next(
            (p.states[i] for p in program.phases if p.states[i] in _CLEAR),
            MovementPhaseState.PERMISSIVE_CLEARANCE,
        )

    def read(self, now_ns: int) -> ControllerReading:
        """The junction's state at ``now_ns`` (the simulation's current time on the rig's
        clock)."""
        import libsumo

        tl = libsumo.trafficlight
        tls = self.intersection.tls_id
        letters = self.intersection.group_states(str(tl.getRedYellowGreenState(tls)))
        spent_ns = round(float(tl.getSpentDuration(tls)) * 1e9 / self.step_ns) * self.step_ns
        groups = []
        for group in sorted(letters):
            ch = letters[group]
            state = (
                self._clearance(group) if ch == "y" else LETTERS.get(ch, MovementPhaseState.DARK)
            )
            before = self._last.get(group)
            if before is None:
                since = None
            elif before.state != state:
                since = now_ns - spent_ns
            else:
                since = before.since_ns
            reading = GroupReading(group, state, since)
            self._last[group] = reading
            groups.append(reading)
        mode = self.mode if self.mode is not None else self.intersection.program.mode
        return ControllerReading(self.intersection.map.intersection_id, now_ns, mode, tuple(groups))
