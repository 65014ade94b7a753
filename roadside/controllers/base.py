"""The controller adapter's interface: what a signal controller says, in the kernel's SPaT terms.

An adapter reads one intersection's controller (SUMO, an NTCIP 1202 controller over SNMP, the
JSON-over-UDP feed) and gives

- ``read()``: a ``vicoop.spat.ControllerReading``, the state of every signal group now, with the
  controller's own bounds for each state's end where it gives them;
- ``program()``: a ``ControllerProgram``, the controller's timing (per signal group: min and max
  green, yellow change, red clearance; the stages of a fixed program where the controller has
  them; cycle and offset where known), what a SPaT predictor needs besides the readings.

Staleness (``StalePolicy``): a controller that has said nothing for ``stale_after_s`` is not
trusted any more; ``read()`` then reports every group ``UNAVAILABLE`` and the mode ``UNKNOWN``
(never the last colour, never a guessed one). Times are ns since the Unix epoch on the RSU's
clock, which the adapter is given (``clock``), so tests and the rig can drive it.

Bad input from a controller is counted by reason in ``AdapterStats`` and logged with what was
wrong; it never raises out of an adapter's polling loop.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from roadside.errors import RoadsideError
from vicoop.spat import ControllerReading, ControlMode, GroupReading, MovementPhaseState

log = logging.getLogger(__name__)

S = 1_000_000_000  # ns per second


class ControllerError(RoadsideError):
    """A controller's reply that is not a valid state; ``reason`` is a short key for counting."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class GroupTiming:
    """One signal group's timing as the controller is programmed, seconds (None: not known).

    ``min_green_s``/``max_green_s``: the shortest and longest green it gives the group (NTCIP:
    phaseMinimumGreen, phaseMaximum1; SUMO: the minDur/maxDur of its green stages in a row);
    ``yellow_change_s``: the amber after its green; ``red_clearance_s``: the all-red after it.
    """

    signal_group: int
    min_green_s: float | None = None
    max_green_s: float | None = None
    yellow_change_s: float | None = None
    red_clearance_s: float | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of a controller's program (a SUMO phase): every group's state during it and how
    long it lasts, seconds; ``min_s == max_s == duration_s`` in a fixed-time program."""

    index: int
    duration_s: float
    min_s: float
    max_s: float
    states: tuple[tuple[int, MovementPhaseState], ...]  # (signal group, state)


@dataclass(frozen=True, slots=True)
class ControllerProgram:
    """What a controller is programmed to do: its mode, timing per signal group, its stages in
    order where it runs a sequence of them, and the cycle (s) and offset (s) where known."""

    intersection_id: str
    mode: ControlMode
    groups: tuple[GroupTiming, ...]
    stages: tuple[Stage, ...] = ()
    cycle_s: float | None = None
    offset_s: float | None = None


@dataclass
class AdapterStats:
    """What an adapter received: accepted readings, rejections by reason, the last reason's
    message, and when (RSU clock, ns) it last heard a valid state."""

    accepted: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    last_error: str = ""
    last_good_ns: int | None = None

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def reject(self, reason: str, detail: str, source: str) -> None:
        """Count a rejection by ``reason`` and log it with ``detail`` (the first of a reason,
        then every 100th, so a broken controller polled at 10 Hz does not flood the log)."""
        self.rejected[reason] += 1
        self.last_error = f"{reason}: {detail}" if detail else reason
        n = self.rejected[reason]
        if n == 1 or n % 100 == 0:
            log.warning("controller %s: rejected (%s; %d so far)", source, self.last_error, n)


@dataclass(frozen=True, slots=True)
class StalePolicy:
    """After ``stale_after_s`` without a valid state, every group is UNAVAILABLE. Pure."""

    stale_after_s: float

    def apply(
        self,
        last: ControllerReading | None,
        last_good_ns: int | None,
        now_ns: int,
        intersection_id: str,
        signal_groups: tuple[int, ...],
    ) -> ControllerReading:
        """``last`` if it is fresh at ``now_ns``, else an all-UNAVAILABLE reading of
        ``signal_groups`` (also when nothing was ever read)."""
        fresh = (
            last is not None
            and last_good_ns is not None
            and now_ns - last_good_ns <= self.stale_after_s * S
        )
        if fresh and last is not None:
            return last
        return unknown_reading(intersection_id, now_ns, signal_groups)


def unknown_reading(
    intersection_id: str, now_ns: int, signal_groups: tuple[int, ...]
) -> ControllerReading:
    """A reading that says nothing is known: mode UNKNOWN, every group UNAVAILABLE."""
    return ControllerReading(
        intersection_id,
        now_ns,
        ControlMode.UNKNOWN,
        tuple(GroupReading(g, MovementPhaseState.UNAVAILABLE) for g in signal_groups),
    )


@dataclass(frozen=True, slots=True)
class StageState:
    """The stage a controller shows (a ``ControllerProgram`` stage index) and since when (ns
    since the Unix epoch, the RSU's clock)."""

    stage: int
    since_ns: int


@dataclass(frozen=True, slots=True)
class Decision:
    """What the safety supervisor (``roadside.supervisor``) tells a controller to do now:
    show ``stage`` (a program stage index) and never switch on its own while ``supervised``;
    when not ``supervised``, run its own program (from ``stage``'s beginning when
    ``switched``: the supervisor hands it back at a stage switch). ``plan_id`` names the
    command being served ("" for none)."""

    stage: int
    supervised: bool
    switched: bool
    plan_id: str = ""


@runtime_checkable
class ControllerWriter(Protocol):
    """The write side of an adapter: where the controller is, and the supervisor's decisions
    executed. Only the safety supervisor's ``Decision``s reach it, never a command."""

    async def stage(self) -> StageState | None:
        """The stage the controller shows and since when (None: not known now)."""

    async def apply(self, decision: Decision) -> None:
        """Make the controller do what ``decision`` says (see ``Decision``)."""


@runtime_checkable
class ControllerAdapter(Protocol):
    """Reads one intersection's signal controller (see the module)."""

    name: str
    intersection_id: str
    stale_after_s: float
    stats: AdapterStats

    async def start(self) -> None:
        """Open what the adapter reads (socket, poll loop, SUMO connection)."""

    async def stop(self) -> None:
        """Close what ``start`` opened."""

    async def read(self) -> ControllerReading:
        """Every signal group's state now (UNAVAILABLE for all once stale)."""

    async def program(self) -> ControllerProgram:
        """The controller's program and timing."""

    def on_reading(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` whenever the controller has said something new (a datagram it
        pushed, a poll's answer), so that a change goes out without waiting for the next
        ``read``; None: no longer. An adapter that only answers ``read`` never calls it."""
