"""Signal phase and timing (SPaT) as vehicles and standards see it: the kernel's domain types.

Semantics follow SAE J2735 / ISO TS 19091 (``MovementPhaseState``, ``TimeChangeDetails``):
each signal group of an intersection is in one movement phase state, with the earliest
(``min_end_ns``), latest (``max_end_ns``) and most likely (``likely_end_ns``) time the state
ends, and a confidence in ``likely_end_ns``. Times are ns since the Unix epoch (UTC), the RSU's
clock. ``None`` means not known: never a guess.

Two layers use these types:

- a controller adapter (``roadside``) reports what the controller says: a
  ``ControllerReading`` (each group's state, since when, and the controller's own timing where
  it gives one);
- the RSU's SPaT predictor turns readings and the intersection's program into ``Spat``: the
  invariant ``min_end_ns <= actual change <= max_end_ns`` must always hold, and a window that
  turns out wrong is counted as a defect.

Pure data, no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MovementPhaseState(enum.IntEnum):
    """J2735 ``MovementPhaseState`` (the same numbers as the standard's enumeration)."""

    UNAVAILABLE = 0
    DARK = 1
    STOP_THEN_PROCEED = 2  # flashing red
    STOP_AND_REMAIN = 3  # red
    PRE_MOVEMENT = 4  # red + amber
    PERMISSIVE_MOVEMENT_ALLOWED = 5  # green, yield to conflicting traffic
    PROTECTED_MOVEMENT_ALLOWED = 6  # green, no conflicting traffic
    PERMISSIVE_CLEARANCE = 7  # amber after a permissive green
    PROTECTED_CLEARANCE = 8  # amber after a protected green
    CAUTION_CONFLICTING_TRAFFIC = 9  # flashing amber

    @property
    def may_proceed(self) -> bool:
        """Whether a vehicle may enter the intersection on this state (green of either kind)."""
        return self in (
            MovementPhaseState.PERMISSIVE_MOVEMENT_ALLOWED,
            MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED,
        )


class ControlMode(enum.IntEnum):
    """How the intersection's controller is running (the intersection's SPaT status)."""

    UNKNOWN = 0
    FIXED_TIME = 1
    ACTUATED = 2
    COORDINATED = 3  # running a plan from the cloud's coordinator
    MANUAL = 4  # a police officer or an operator at the cabinet
    FAILURE_FLASH = 5  # conflict monitor or fault: flashing
    DARK = 6  # controller off


@dataclass(frozen=True, slots=True)
class GroupReading:
    """One signal group as the controller reports it.

    ``since_ns``: when the group entered ``state`` (None if the controller does not say);
    ``min_end_ns``/``max_end_ns``: the controller's own bounds for the state's end, if it gives
    any (NTCIP 1202 and SUMO do, a plain colour feed does not).
    """

    signal_group: int  # 1..255, J2735 SignalGroupID
    state: MovementPhaseState
    since_ns: int | None = None
    min_end_ns: int | None = None
    max_end_ns: int | None = None


@dataclass(frozen=True, slots=True)
class ControllerReading:
    """One intersection's state as read from its controller at ``read_at_ns`` (RSU clock)."""

    intersection_id: str
    read_at_ns: int
    mode: ControlMode
    groups: tuple[GroupReading, ...]


@dataclass(frozen=True, slots=True)
class MovementEvent:
    """One signal group's SPaT: its state now and when that state ends.

    ``confidence`` is the probability (0..1) that the change happens within
    ``likely_end_ns`` +- the predictor's stated tolerance (J2735 ``TimeIntervalConfidence``).
    """

    signal_group: int
    state: MovementPhaseState
    min_end_ns: int | None
    max_end_ns: int | None
    likely_end_ns: int | None
    confidence: float = 0.0


@dataclass(frozen=True, slots=True)
class Spat:
    """One intersection's signal phase and timing at ``valid_at_ns``.

    ``revision`` counts up when anything but the times changes (a state or the mode), so a
    receiver can tell a change from a repeat.
    """

    intersection_id: str
    valid_at_ns: int
    revision: int
    mode: ControlMode
    movements: tuple[MovementEvent, ...]

    @property
    def states(self) -> tuple[object, ...]:
        """What ``revision`` counts changes of: the mode and every movement's group and state
        (not the times). Equal for a repeat, different for a change."""
        return (self.mode, tuple((m.signal_group, m.state) for m in self.movements))
