"""The JSON-over-UDP controller feed (``roadside.ingest.signal``) as a controller adapter.

Each datagram is decoded and sequence-checked exactly as the RSU's ``source: controller`` input
does (same decoder, same rejection reasons); its ``group_id``s are mapped onto J2735 signal
groups by the configuration, and its colours onto ``MovementPhaseState``:

=============  ==========================================================================
``red``        STOP_AND_REMAIN
``red_amber``  PRE_MOVEMENT
``green``      PROTECTED_MOVEMENT_ALLOWED or PERMISSIVE_MOVEMENT_ALLOWED (the group's ``green``)
``amber``      PROTECTED_CLEARANCE or PERMISSIVE_CLEARANCE (after that kind of green)
``dark``       DARK
=============  ==========================================================================

``next_change_ns`` is a hint: the format does not say whether the controller can still extend
or cut the state, so ``min_end_ns``/``max_end_ns`` stay unknown, unless the configuration says
the controller vouches for it (``next_change_is_exact``: a fixed-time controller), when both
are ``next_change_ns``. ``since_ns`` is the ``t_ns`` of the first datagram that showed the
state (unknown for the state of the first datagram). A ``group_id`` the configuration does not
map is left out and counted (``unmapped_group``); a mapped group the datagram lacks is
UNAVAILABLE. The feed carries no program: ``program()`` has no timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from roadside.controllers.base import (
    AdapterStats,
    ControllerProgram,
    GroupTiming,
    StalePolicy,
)
from roadside.controllers.config import UdpJsonControllerConfig
from roadside.ingest.base import ParseError
from roadside.ingest.signal import JsonSignalDecoder, SignalSequence
from roadside.ingest.udp import UdpEndpoint
from vicoop.cloudmodel import SignalColour, SignalState
from vicoop.spat import ControllerReading, ControlMode, GroupReading, MovementPhaseState

_FIXED = {
    SignalColour.RED: MovementPhaseState.STOP_AND_REMAIN,
    SignalColour.RED_AMBER: MovementPhaseState.PRE_MOVEMENT,
    SignalColour.DARK: MovementPhaseState.DARK,
}


def colour_state(colour: SignalColour, green: str) -> MovementPhaseState:
    """The J2735 state of a feed colour for a group whose green is ``green``."""
    if colour in _FIXED:
        return _FIXED[colour]
    protected = green == "protected"
    if colour is SignalColour.GREEN:
        return (
            MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED
            if protected
            else MovementPhaseState.PERMISSIVE_MOVEMENT_ALLOWED
        )
    if colour is SignalColour.AMBER:
        return (
            MovementPhaseState.PROTECTED_CLEARANCE
            if protected
            else MovementPhaseState.PERMISSIVE_CLEARANCE
        )
    return MovementPhaseState.UNAVAILABLE


class UdpJsonMapper:
    """Maps decoded feed states to ``ControllerReading``s, tracking when each group's state
    began. Pure."""

    def __init__(self, config: UdpJsonControllerConfig) -> None:
        self.config = config
        self.by_id = {g.group_id: g for g in config.groups}
        self._since: dict[int, tuple[MovementPhaseState, int | None]] = {}

    def reading(self, state: SignalState, received_ns: int) -> tuple[ControllerReading, int]:
        """The reading of ``state`` received at ``received_ns`` and how many of its groups
        were not mapped."""
        seen = {g.group_id: g for g in state.groups}
        unmapped = sum(1 for gid in seen if gid not in self.by_id)
        groups = []
        for m in self.config.groups:
            g = seen.get(m.group_id)
            if g is None:
                groups.append(GroupReading(m.signal_group, MovementPhaseState.UNAVAILABLE))
                self._since.pop(m.signal_group, None)
                continue
            s = colour_state(g.colour, m.green)
            known = self._since.get(m.signal_group)
            if known is None:
                since = None
            elif known[0] == s:
                since = known[1]
            else:
                since = state.valid_at_ns
            self._since[m.signal_group] = (s, since)
            end = (g.next_change_ns or None) if self.config.next_change_is_exact else None
            groups.append(GroupReading(m.signal_group, s, since, end, end))
        return (
            ControllerReading(
                self.config.intersection_id, received_ns, ControlMode.UNKNOWN, tuple(groups)
            ),
            unmapped,
        )


class UdpJsonAdapter:
    """Listens for the feed on ``config.host:config.port`` (``port`` after ``start``)."""

    name = "udp_json"

    def __init__(
        self, config: UdpJsonControllerConfig, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.config = config
        self.clock = clock
        self.intersection_id = config.intersection_id
        self.stale_after_s = config.stale_after_s
        self.stats = AdapterStats()
        self.decoder = JsonSignalDecoder("", [config.intersection_id])
        self.sequence = SignalSequence()
        self.mapper = UdpJsonMapper(config)
        self.policy = StalePolicy(config.stale_after_s)
        self.signal_groups = tuple(g.signal_group for g in config.groups)
        self.last: ControllerReading | None = None
        self._on_reading: Callable[[], None] | None = None
        self._source = f"{config.intersection_id} (udp {config.host}:{config.port})"
        self.endpoint = UdpEndpoint(
            self,
            config.host,
            config.port,
            clock,
            guard=config.trust.guard(f"spat.controllers[{config.intersection_id}].trust"),
            reject=lambda exc, _: self.stats.reject(exc.reason, exc.detail, self._source),
        )

    @property
    def port(self) -> int:
        return self.endpoint.port

    def feed(self, data: bytes, received_ns: int | None = None) -> ControllerReading | None:
        """Decode one datagram received at ``received_ns``; the reading, or None if rejected
        (counted by reason). Never raises on bad input."""
        now = self.clock() if received_ns is None else received_ns
        try:
            state, seq = self.decoder.decode(data)
            self.sequence.check(seq)
        except ParseError as exc:
            detail = str(exc).removeprefix(exc.reason).removeprefix(": ")
            self.stats.reject(exc.reason, detail, self._source)
            return None
        reading, unmapped = self.mapper.reading(state, now)
        if unmapped:
            self.stats.rejected["unmapped_group"] += unmapped
        self.last = reading
        self.stats.accepted += 1
        self.stats.last_good_ns = now
        if self._on_reading is not None:
            self._on_reading()
        return reading

    def on_reading(self, callback: Callable[[], None] | None) -> None:
        """``callback`` is called after each datagram accepted (the feed pushes its states)."""
        self._on_reading = callback

    async def start(self) -> None:
        await self.endpoint.start()

    async def stop(self) -> None:
        await self.endpoint.stop()

    async def read(self) -> ControllerReading:
        return self.policy.apply(
            self.last,
            self.stats.last_good_ns,
            self.clock(),
            self.intersection_id,
            self.signal_groups,
        )

    async def program(self) -> ControllerProgram:
        """No timing: the feed sends colours only."""
        return ControllerProgram(
            self.intersection_id,
            ControlMode.UNKNOWN,
            tuple(GroupTiming(g) for g in self.signal_groups),
        )
