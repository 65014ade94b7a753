"""Intersection maps and signal programs of a SUMO network's traffic-light junctions.

``read_net`` loads a ``.net.xml`` with sumolib (internal lanes, programs and pedestrian
connections); ``build_intersection`` turns one traffic-light junction into the kernel's
``IntersectionMap`` in a site's ENU frame and the ``SignalProgram`` of its controller:

- lanes: every lane with a connection through the junction (ingress: its last
  ``lane_length_m``, ending where SUMO's junction begins, i.e. at the stop line; egress: its
  first ``lane_length_m``). Lane ids 1.. (ingress lanes first, by arm), crosswalks after; the
  approach id is the arm (1.. counter-clockwise from east by the arm's bearing), shared by the
  arm's ingress and egress lanes;
- connections: SUMO's, with their manoeuvre (SUMO ``dir``) and signal group;
- signal groups: **one group per set of the traffic light's links that show the same letter in
  every phase of every program the net holds** (so a group is what J2735 means by one: heads
  that always show the same state; SUMO's ``G`` and ``g`` are different states, protected and
  permissive, so a protected and a permissive turn are separate groups). Named
  ``tls:i,j,...`` after the link indices;
- conflicts: groups ``a != b`` with a pair of links the junction's ``<request foes>`` matrix
  marks as foes (links of one group that are foes of each other yield by the junction's
  right of way, within the group);
- crosswalks: SUMO's crossing edges at the junction, their signal group the one of the
  walking-area-to-crossing link the light controls.

The program is the traffic light's current ``tlLogic`` in the net (a ``.sumocfg`` may load
others from additional files: those are not read here), its phases' letters taken for the
junction's groups, consecutive phases that look the same merged. ``static`` programs run fixed
time, ``actuated`` (and ``delay_based``) ones actuated, with the phases' ``minDur``/``maxDur``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.ops import substring

from hil.errors import ScenarioError
from hil.geo import NetToEnu
from roadside.spat.program import SignalProgram
from vicoop.intersection import (
    Connection,
    Crosswalk,
    IntersectionMap,
    Lane,
    LaneDirection,
    LaneKind,
    Manoeuvre,
    SignalGroup,
    StopLine,
    validate,
)
from vicoop.model import GeodeticOrigin
from vicoop.spat import ControlMode

__all__ = [
    "SumoIntersection",
    "build_intersection",
    "net_to_enu",
    "read_net",
    "signalised_junctions",
]

TLS_JUNCTION_TYPES = ("traffic_light", "traffic_light_right_on_red", "traffic_light_unregulated")
MANOEUVRES = {
    "s": Manoeuvre.STRAIGHT,
    "l": Manoeuvre.LEFT,
    "L": Manoeuvre.LEFT,
    "r": Manoeuvre.RIGHT,
    "R": Manoeuvre.RIGHT,
    "t": Manoeuvre.U_TURN,
}
ACTUATED_TYPES = ("actuated", "delay_based", "NEMA")


@dataclass(frozen=True)
class SumoIntersection:
    """One junction's map and program, and which signal group each of its traffic light's
    links belongs to (``groups[(tls_id, link_index)]``)."""

    junction: str
    tls_id: str
    map: IntersectionMap
    program: SignalProgram
    groups: dict[tuple[str, int], int]

    def group_states(self, tls_state: str) -> dict[int, str]:
        """Each group's SUMO letter in the traffic light's state string ``tls_state``."""
        out: dict[int, str] = {}
        for (tls, index), group in self.groups.items():
            if tls == self.tls_id and index < len(tls_state):
                out.setdefault(group, tls_state[index])
        return out


def read_net(path: str | Path) -> Any:
    """A SUMO network read by sumolib, with what ``build_intersection`` needs."""
    import sumolib

    try:
        return sumolib.net.readNet(
            str(path), withInternal=True, withPrograms=True, withPedestrianConnections=True
        )
    except Exception as exc:  # sumolib raises whatever its XML parser does
        raise ScenarioError(f"{path}: not a readable SUMO network: {exc}") from None


def signalised_junctions(net: Any) -> list[str]:
    """The ids of the net's traffic-light junctions, sorted."""
    return sorted(n.getID() for n in net.getNodes() if n.getType() in TLS_JUNCTION_TYPES)


def net_to_enu(net: Any, origin: GeodeticOrigin, junction_xy: tuple[float, float]) -> NetToEnu:
    """The net-to-ENU map a rig site at ``junction_xy`` (net m) with ``origin`` uses (see
    ``hil.geo``): fitted through the net's projection, or a translation for a net without
    one."""
    if net.hasGeoProj():
        return NetToEnu.fit(
            lambda x, y: tuple(net.convertXY2LonLat(x, y)),  # type: ignore[arg-type,return-value]
            origin,
            junction_xy,
        )
    return NetToEnu.translation(junction_xy)


def _bearing(node_xy: tuple[float, float], other_xy: tuple[float, float]) -> float:
    return math.atan2(other_xy[1] - node_xy[1], other_xy[0] - node_xy[0]) % (2 * math.pi)


def _kind(lane: Any) -> LaneKind:
    allowed = set(lane.getPermissions())
    if allowed == {"pedestrian"}:
        return LaneKind.SIDEWALK
    if allowed == {"bicycle"}:
        return LaneKind.BIKE
    if allowed and allowed <= {"tram", "rail_urban", "rail", "rail_electric", "rail_fast"}:
        return LaneKind.TRACKED
    if allowed and allowed <= {"bus", "coach", "taxi", "emergency", "authority"}:
        return LaneKind.BUS
    return LaneKind.VEHICLE


def _enu_line(shape: list[tuple[float, ...]], to_enu: NetToEnu) -> tuple[tuple[float, float], ...]:
    xy = to_enu.points(np.array([p[:2] for p in shape], dtype=np.float64))
    return tuple((round(float(x), 3), round(float(y), 3)) for x, y in xy)


def _clip(shape: list[tuple[float, ...]], length_m: float, at_end: bool) -> list[Any]:
    line = shapely.LineString([p[:2] for p in shape])
    if line.length <= length_m:
        return [p[:2] for p in shape]
    part = (
        substring(line, line.length - length_m, line.length)
        if at_end
        else substring(line, 0.0, length_m)
    )
    return list(part.coords)


def build_intersection(
    net: Any,
    junction: str,
    to_enu: NetToEnu,
    intersection_id: str | None = None,
    lane_length_m: float = 150.0,
    revision: int = 1,
) -> SumoIntersection:
    """The map and program of the traffic-light junction ``junction`` (see the module)."""
    if not net.hasNode(junction):
        raise ScenarioError(f"junction {junction!r}: not in the net")
    node = net.getNode(junction)
    conns = [
        c
        for c in node.getConnections()
        if c.getFrom().getFunction() == "" and c.getTo().getFunction() == ""
    ]
    walks = [
        c
        for c in node.getConnections()
        if c.getFrom().getFunction() == "walkingarea" and c.getTo().getFunction() == "crossing"
    ]
    tls_ids = sorted({c.getTLSID() for c in conns + walks if c.getTLSID()})
    if not tls_ids:
        raise ScenarioError(f"junction {junction!r}: no traffic light controls it")
    if len(tls_ids) > 1:
        raise ScenarioError(
            f"junction {junction!r}: controlled by several traffic lights {tls_ids}"
        )
    tls_id = tls_ids[0]
    programs = net.getTLS(tls_id).getPrograms()
    if not programs:
        raise ScenarioError(f"traffic light {tls_id!r}: no program in the net")

    # Signal groups: links showing the same letter in every phase of every program.
    phases = [p for _, prog in sorted(programs.items()) for p in prog.getPhases()]
    indices = sorted({c.getTLLinkIndex() for c in conns + walks if c.getTLLinkIndex() >= 0})
    signature: dict[int, str] = {
        i: "".join(p.state[i] if i < len(p.state) else "O" for p in phases) for i in indices
    }
    by_signature: dict[str, list[int]] = {}
    for i in indices:
        by_signature.setdefault(signature[i], []).append(i)
    if len(by_signature) > 255:
        raise ScenarioError(f"junction {junction!r}: more than 255 signal groups")
    group_of: dict[int, int] = {}
    groups: list[SignalGroup] = []
    for g, (_, links) in enumerate(sorted(by_signature.items(), key=lambda kv: kv[1][0]), 1):
        groups.append(SignalGroup(g, f"{tls_id}:{','.join(map(str, links))}"))
        group_of.update({i: g for i in links})

    # Arms: the neighbouring nodes by bearing, counter-clockwise from east.
    centre = node.getCoord()
    neighbours = {e.getFromNode().getID(): e.getFromNode() for e in node.getIncoming()}
    neighbours |= {e.getToNode().getID(): e.getToNode() for e in node.getOutgoing()}
    arms = sorted(
        (nid for nid in neighbours if nid != junction),
        key=lambda nid: _bearing(centre, neighbours[nid].getCoord()),
    )
    approach = {nid: min(k + 1, 15) for k, nid in enumerate(arms)}

    ingress = sorted(
        {c.getFromLane().getID(): c.getFromLane() for c in conns}.values(),
        key=lambda ln: (approach.get(ln.getEdge().getFromNode().getID(), 0), ln.getIndex()),
    )
    egress = sorted(
        {c.getToLane().getID(): c.getToLane() for c in conns}.values(),
        key=lambda ln: (approach.get(ln.getEdge().getToNode().getID(), 0), ln.getIndex()),
    )
    if len(ingress) + len(egress) + len(walks) > 255:
        raise ScenarioError(f"junction {junction!r}: more than 255 lanes and crosswalks")
    lane_id = {ln.getID(): k for k, ln in enumerate([*ingress, *egress], 1)}
    turns: dict[str, Manoeuvre] = {}
    for c in conns:
        m = MANOEUVRES.get(c.getDirection(), Manoeuvre.NONE)
        turns[c.getFromLane().getID()] = turns.get(c.getFromLane().getID(), Manoeuvre.NONE) | m
        turns[c.getToLane().getID()] = turns.get(c.getToLane().getID(), Manoeuvre.NONE) | m

    lanes = []
    for ln, direction in [(ln, LaneDirection.INGRESS) for ln in ingress] + [
        (ln, LaneDirection.EGRESS) for ln in egress
    ]:
        far = (
            ln.getEdge().getFromNode()
            if direction is LaneDirection.INGRESS
            else ln.getEdge().getToNode()
        )
        lanes.append(
            Lane(
                lane_id[ln.getID()],
                ln.getID(),
                _kind(ln),
                direction,
                approach.get(far.getID(), 0),
                _enu_line(
                    _clip(ln.getShape(), lane_length_m, direction is LaneDirection.INGRESS),
                    to_enu,
                ),
                float(ln.getWidth()),
                turns.get(ln.getID(), Manoeuvre.NONE),
                float(ln.getSpeed()),
            )
        )
    connections = [
        Connection(
            k,
            lane_id[c.getFromLane().getID()],
            lane_id[c.getToLane().getID()],
            group_of.get(c.getTLLinkIndex()) if c.getTLLinkIndex() >= 0 else None,
            MANOEUVRES.get(c.getDirection(), Manoeuvre.NONE),
        )
        for k, c in enumerate(sorted(conns, key=lambda c: c.getJunctionIndex()))
    ]
    if len(connections) > 256:
        raise ScenarioError(f"junction {junction!r}: more than 256 connections")

    # Conflicts: the junction's foes, by group.
    junction_group = {
        c.getJunctionIndex(): group_of[c.getTLLinkIndex()]
        for c in conns + walks
        if c.getJunctionIndex() >= 0 and c.getTLLinkIndex() in group_of
    }
    pairs: set[tuple[int, int]] = set()
    for i, a in junction_group.items():
        for j, b in junction_group.items():
            # sumolib keeps the <request foes> strings in Node._foes (no public getter).
            foes = node._foes.get(i, "")
            if a != b and j < len(foes) and node.areFoes(i, j):
                pairs |= {(a, b), (b, a)}

    by_id = {ln.getID(): lane_id[ln.getID()] for ln in [*ingress, *egress]}
    crosswalks = []
    for k, c in enumerate(sorted(walks, key=lambda c: c.getTo().getID()), len(lane_id) + 1):
        crossing = c.getTo()
        crossed = [
            by_id[ln.getID()]
            for e in crossing.getCrossingEdges()
            for ln in e.getLanes()
            if ln.getID() in by_id
        ]
        cl = crossing.getLanes()[0]
        crosswalks.append(
            Crosswalk(
                k,
                crossing.getID(),
                _enu_line(cl.getShape(), to_enu),
                float(cl.getWidth()),
                group_of.get(c.getTLLinkIndex()),
                tuple(sorted(crossed)),
            )
        )

    jxy = to_enu.points(np.array([centre], dtype=np.float64))[0]
    lanes_t = tuple(lanes)
    the_map = validate(
        IntersectionMap(
            intersection_id or junction,
            revision,
            (round(float(jxy[0]), 3), round(float(jxy[1]), 3)),
            lanes_t,
            tuple(
                StopLine.at_end_of(ln) for ln in lanes_t if ln.direction is LaneDirection.INGRESS
            ),
            tuple(connections),
            tuple(groups),
            tuple(sorted(pairs)),
            tuple(crosswalks),
        ),
        f"junction {junction}",
    )
    return SumoIntersection(
        junction,
        tls_id,
        the_map,
        _program(programs, {g: links[0] for g, links in _links_by_group(group_of).items()}),
        {(tls_id, i): g for i, g in group_of.items()},
    )


def _links_by_group(group_of: dict[int, int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for index, group in sorted(group_of.items()):
        out.setdefault(group, []).append(index)
    return out


def _program(programs: dict[str, Any], first_link: dict[int, int]) -> SignalProgram:
    """The junction's program: the light's first program in the net (by program id), each
    group's letter taken from its first link, consecutive phases that look the same merged."""
    logic = programs[sorted(programs)[0]]
    groups = sorted(first_link)
    mode = ControlMode.ACTUATED if logic.getType() in ACTUATED_TYPES else ControlMode.FIXED_TIME
    rows = []
    for p in logic.getPhases():
        letters = "".join(
            p.state[first_link[g]] if first_link[g] < len(p.state) else "O" for g in groups
        )
        lo = float(p.minDur) if p.minDur is not None and p.minDur >= 0 else None
        hi = float(p.maxDur) if p.maxDur is not None and p.maxDur >= 0 else None
        rows.append((letters, float(p.duration), lo, hi))
    return SignalProgram.from_letters(groups, rows, mode, float(logic.getOffset() or 0)).merged()
