"""The MAP of a real site's intersections, from the RSU's configuration file: lanes, stop
lines, connections and their signal groups, conflicts, crosswalks (``vicoop.intersection``),
served to vehicles by ``GetMap``. Positions are metres in the RSU's ENU frame about ``origin``.

::

    map:
      intersections:
        - intersection_id: junction-1
          lanes:
            - {lane_id: 1, kind: vehicle, direction: ingress, approach: 1, width_m: 3.5,
               centre_line: [[-1.75, 40.0], [-1.75, 10.0]], manoeuvres: [straight]}
            - {lane_id: 6, kind: vehicle, direction: egress, approach: 3, width_m: 3.5,
               centre_line: [[-1.75, -10.0], [-1.75, -40.0]], manoeuvres: [straight]}
          connections:
            - {connection_id: 0, from_lane: 1, to_lane: 6, signal_group: 2, manoeuvre: straight}
          signal_groups: [{signal_group: 2, name: north-south}]

A map that is not whole (an unknown lane, a group no connection uses, ...) is a configuration
error naming the field; ``stop_lines`` left empty are drawn across the end of each ingress lane.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vicoop.config import StrictModel
from vicoop.intersection import (
    Connection,
    Crosswalk,
    IntersectionError,
    IntersectionMap,
    Lane,
    LaneDirection,
    LaneKind,
    Manoeuvre,
    SignalGroup,
    StopLine,
    validate,
)

Point = tuple[float, float]
ManoeuvreName = Literal[
    "straight",
    "left",
    "right",
    "u_turn",
    "left_on_red",
    "right_on_red",
    "lane_change",
    "no_stopping",
    "yield_always",
    "go_with_halt",
    "caution",
]


class LaneConfig(StrictModel):
    lane_id: int = Field(ge=0, le=255)
    name: str = Field("", max_length=64)
    kind: Literal["vehicle", "bike", "sidewalk", "tracked", "bus"] = "vehicle"
    direction: Literal["ingress", "egress"]
    # J2735 ApproachID, 0..15 (0: unknown).
    approach: int = Field(0, ge=0, le=15)
    # In travel direction, 2..63 points (ENU m).
    centre_line: tuple[Point, ...] = Field(min_length=2, max_length=63)
    width_m: float = Field(gt=0, le=20)
    manoeuvres: tuple[ManoeuvreName, ...] = ()
    speed_limit_mps: float | None = Field(None, gt=0, le=100)


class StopLineConfig(StrictModel):
    lane_id: int = Field(ge=0, le=255)
    start: Point
    end: Point


class ConnectionConfig(StrictModel):
    connection_id: int = Field(ge=0, le=255)
    from_lane: int = Field(ge=0, le=255)
    to_lane: int = Field(ge=0, le=255)
    # None: not signalised (a free right turn).
    signal_group: int | None = Field(None, ge=1, le=255)
    manoeuvre: ManoeuvreName = "straight"


class SignalGroupConfig(StrictModel):
    signal_group: int = Field(ge=1, le=255)
    name: str = Field("", max_length=64)


class CrosswalkConfig(StrictModel):
    crosswalk_id: int = Field(ge=0, le=255)
    name: str = Field("", max_length=64)
    centre_line: tuple[Point, ...] = Field(min_length=2, max_length=63)
    width_m: float = Field(gt=0, le=20)
    signal_group: int | None = Field(None, ge=1, le=255)
    crosses: tuple[int, ...] = ()


class IntersectionMapConfig(StrictModel):
    """One intersection's MAP (see the module)."""

    intersection_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    # J2735 MsgCount, 0..127: raise it whenever you change the map.
    revision: int = Field(1, ge=0, le=127)
    reference_xy: Point = (0.0, 0.0)
    lanes: tuple[LaneConfig, ...] = Field(min_length=1, max_length=256)
    stop_lines: tuple[StopLineConfig, ...] = ()
    connections: tuple[ConnectionConfig, ...] = Field(default=(), max_length=256)
    signal_groups: tuple[SignalGroupConfig, ...] = Field(default=(), max_length=255)
    # Pairs of groups that must never be green together, each pair once.
    conflicts: tuple[tuple[int, int], ...] = ()
    crosswalks: tuple[CrosswalkConfig, ...] = ()

    @model_validator(mode="after")
    def _whole(self) -> IntersectionMapConfig:
        try:
            self.to_model()
        except IntersectionError as exc:
            raise ValueError(str(exc)) from None
        return self

    @classmethod
    def from_model(cls, m: IntersectionMap) -> IntersectionMapConfig:
        """The configuration of map ``m`` (what ``to_model`` gives back): names are cut to 64
        characters and a line of more than 63 points is thinned to 63 or fewer (within a few
        cm), as the configuration allows."""
        return cls.model_validate(
            {
                "intersection_id": m.intersection_id,
                "revision": m.revision,
                "reference_xy": m.reference_xy,
                "lanes": [
                    {
                        "lane_id": ln.lane_id,
                        "name": ln.name[:64],
                        "kind": ln.kind.value,
                        "direction": ln.direction.value,
                        "approach": ln.approach,
                        "centre_line": _at_most_63(ln.centre_line),
                        "width_m": ln.width_m,
                        "manoeuvres": ln.manoeuvres.names(),
                        "speed_limit_mps": ln.speed_limit_mps,
                    }
                    for ln in m.lanes
                ],
                "stop_lines": [
                    {"lane_id": s.lane_id, "start": s.start, "end": s.end} for s in m.stop_lines
                ],
                "connections": [
                    {
                        "connection_id": c.connection_id,
                        "from_lane": c.from_lane,
                        "to_lane": c.to_lane,
                        "signal_group": c.signal_group,
                        "manoeuvre": (c.manoeuvre.names() or ("straight",))[0],
                    }
                    for c in m.connections
                ],
                "signal_groups": [
                    {"signal_group": g.signal_group, "name": g.name[:64]} for g in m.signal_groups
                ],
                "conflicts": sorted({(min(a, b), max(a, b)) for a, b in m.conflicts}),
                "crosswalks": [
                    {
                        "crosswalk_id": w.crosswalk_id,
                        "name": w.name[:64],
                        "centre_line": _at_most_63(w.centre_line),
                        "width_m": w.width_m,
                        "signal_group": w.signal_group,
                        "crosses": w.crosses,
                    }
                    for w in m.crosswalks
                ],
            }
        )

    def to_model(self) -> IntersectionMap:
        lanes = tuple(
            Lane(
                c.lane_id,
                c.name,
                LaneKind(c.kind),
                LaneDirection(c.direction),
                c.approach,
                c.centre_line,
                c.width_m,
                Manoeuvre.from_names(c.manoeuvres),
                c.speed_limit_mps,
            )
            for c in self.lanes
        )
        stops = tuple(StopLine(s.lane_id, s.start, s.end) for s in self.stop_lines) or tuple(
            StopLine.at_end_of(lane) for lane in lanes if lane.direction is LaneDirection.INGRESS
        )
        pairs = dict.fromkeys(p for a, b in self.conflicts for p in ((a, b), (b, a)))
        return validate(
            IntersectionMap(
                self.intersection_id,
                self.revision,
                self.reference_xy,
                lanes,
                stops,
                tuple(
                    Connection(
                        c.connection_id,
                        c.from_lane,
                        c.to_lane,
                        c.signal_group,
                        Manoeuvre.from_names([c.manoeuvre]),
                    )
                    for c in self.connections
                ),
                tuple(SignalGroup(g.signal_group, g.name) for g in self.signal_groups),
                tuple(pairs),
                tuple(
                    Crosswalk(
                        w.crosswalk_id, w.name, w.centre_line, w.width_m, w.signal_group, w.crosses
                    )
                    for w in self.crosswalks
                ),
            )
        )


def _at_most_63(line: tuple[Point, ...]) -> tuple[Point, ...]:
    """``line`` with at most 63 points: simplified (ends kept) with a tolerance that grows
    from 1 cm until it fits."""
    if len(line) <= 63:
        return line
    import shapely

    shape, tolerance = shapely.LineString(line), 0.01
    while True:
        points = tuple((float(x), float(y)) for x, y in shape.simplify(tolerance).coords)
        if len(points) <= 63:
            return points
        tolerance *= 2


class MapConfig(StrictModel):
    """The MAP this RSU serves (``GetMap``); none by default."""

    intersections: tuple[IntersectionMapConfig, ...] = ()

    @model_validator(mode="after")
    def _one_map_per_intersection(self) -> MapConfig:
        ids = [i.intersection_id for i in self.intersections]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"each intersection may have one map; twice: {twice}")
        return self

    def models(self) -> tuple[IntersectionMap, ...]:
        return tuple(i.to_model() for i in self.intersections)
