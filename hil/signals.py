"""SUMO's traffic lights as a signal controller's states: what the rig sends to each RSU's signal
input (``roadside.ingest.signal``). Pure functions of what ``SumoSim`` read.

Each controlled link belongs to the approach its traffic comes from (north, east, south, west of
the junction, from the direction its incoming lane enters the junction, in the RSU's ENU frame).
An approach's colour is the most permissive of its links' (green > amber > red-amber > red >
dark): SUMO's ``G``/``g`` green, ``y`` amber, ``u`` red-amber, ``r`` and ``s`` (stop, then go:
a green arrow beside a red light) red, ``o``/``O`` (off) dark. Its next change is found by
walking the program's phases from the current one until that colour differs (0: none in a whole
cycle, or no program to walk).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hil.geo import NetToEnu
from hil.sumo import SignalLink, SignalProgram
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState

APPROACHES = ("east", "north", "west", "south")  # counter-clockwise from east
SUMO_COLOURS = {
    "G": SignalColour.GREEN,
    "g": SignalColour.GREEN,
    "y": SignalColour.AMBER,
    "u": SignalColour.RED_AMBER,
    "r": SignalColour.RED,
    "s": SignalColour.RED,
    "o": SignalColour.DARK,
    "O": SignalColour.DARK,
}
# Least to most permissive.
PERMISSIVE = (
    SignalColour.DARK,
    SignalColour.RED,
    SignalColour.RED_AMBER,
    SignalColour.AMBER,
    SignalColour.GREEN,
)
MS = 1_000_000  # ns


def approach_of(direction_enu: tuple[float, float]) -> str:
    """The approach traffic entering a junction heading ``direction_enu`` (east, north) comes
    from: heading south, it comes from the north."""
    angle = math.atan2(-direction_enu[1], -direction_enu[0])
    return APPROACHES[round(angle / (math.pi / 2)) % 4]


def approach_colour(state: str, indices: Sequence[int]) -> SignalColour:
    """The most permissive colour of the links ``indices`` in a SUMO state string."""
    colours = [
        SUMO_COLOURS.get(state[i], SignalColour.DARK) if i < len(state) else SignalColour.DARK
        for i in indices
    ]
    return max(colours, key=PERMISSIVE.index)


def next_change_ms(program: SignalProgram, indices: Sequence[int]) -> int | None:
    """Simulation time (ms) when the colour of the links ``indices`` next changes; None if it
    does not within a cycle or SUMO gave no phases."""
    if not program.phases:
        return None
    now = approach_colour(program.state, indices)
    at = round(program.next_switch_s * 1000)
    n = len(program.phases)
    for k in range(1, n + 1):
        duration_s, state = program.phases[(program.phase + k) % n]
        if approach_colour(state, indices) != now:
            return at
        at += round(duration_s * 1000)
    return None


@dataclass(frozen=True)
class JunctionSignals:
    """The signal links of one junction by approach: ``links`` (tls id, link index, approach)."""

    intersection_id: str
    links: tuple[tuple[str, int, str], ...]

    @staticmethod
    def build(
        intersection_id: str, links: Sequence[SignalLink], to_enu: NetToEnu
    ) -> JunctionSignals:
        """From ``SumoSim.signal_links`` and the site's net-to-ENU map."""
        if not links:
            return JunctionSignals(intersection_id, ())
        directions = to_enu.vectors(np.array([link.direction_xy for link in links]))
        return JunctionSignals(
            intersection_id,
            tuple(
                (link.tls_id, link.index, approach_of((float(d[0]), float(d[1]))))
                for link, d in zip(links, directions, strict=True)
            ),
        )

    @property
    def tls_ids(self) -> list[str]:
        return sorted({tls for tls, _, _ in self.links})

    def state(
        self, programs: Mapping[str, SignalProgram], sim_s: float, t_ns: int, rsu_id: str = ""
    ) -> SignalState:
        """The junction's state at simulation time ``sim_s``, which is ``t_ns`` on the rig's
        clock (the expected changes mapped to that clock): one group per approach, named after
        it."""
        now_ms = round(sim_s * 1000)
        groups = []
        for approach in APPROACHES:
            by_tls: dict[str, list[int]] = {}
            for tls, index, a in self.links:
                if a == approach:
                    by_tls.setdefault(tls, []).append(index)
            if not by_tls:
                continue
            colour = max(
                (approach_colour(programs[tls].state, idx) for tls, idx in by_tls.items()),
                key=PERMISSIVE.index,
            )
            changes = [
                c
                for tls, idx in by_tls.items()
                if (c := next_change_ms(programs[tls], idx)) is not None
            ]
            next_ns = t_ns + (min(changes) - now_ms) * MS if changes else 0
            groups.append(SignalGroupState(approach, approach, colour, max(0, next_ns)))
        return SignalState(rsu_id, self.intersection_id, t_ns, tuple(groups))
