"""An intersection as vehicles and standards see it (a MAP): lanes, stop lines, connections
lane to lane tied to signal groups, the groups' conflicts, crosswalks. Kernel domain types, pure.

Everything is in the RSU's local ENU frame (metres, x east, y north) about the site's origin.
The model keeps what an ISO TS 19091 / SAE J2735 MAP (MAPEM) needs, so it converts to one:

- lane ids and connection ids are 0..255 (J2735 ``LaneID``, ``LaneConnectionID``), signal group
  ids 1..255 (``SignalGroupID``; 0 means "none" in J2735 and is not a group here), approach ids
  0..15 (``ApproachID``, 0 unknown);
- a lane's centre line is a polyline in travel direction: an ingress lane ends at its stop line,
  an egress lane starts at the junction. A MAPEM node list is the same points as offsets from
  the intersection's ``reference_xy`` (``IntersectionMap.node_offsets``);
- ``Manoeuvre`` is J2735's ``AllowedManeuvers`` bit string (bit 0 straight, 1 left, 2 right,
  3 U-turn, ...), ``LaneKind`` the ``LaneTypeAttributes`` choice, ``LaneDirection`` the
  ``LaneDirection`` bits (ingress path 0, egress path 1);
- crosswalks are lanes of their own in J2735 (lane type crosswalk), so their ids share the lane
  id space here.

``validate`` checks a map once, where it is built (from a SUMO net in ``hil``, from the site
file in ``roadside``): an unknown lane, a group no connection or crosswalk uses, a conflict
matrix that is not symmetric... raise one ``IntersectionError`` naming the field, e.g.
``intersections[0].connections[3].to_lane: unknown lane 17``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import shapely

from vicoop.errors import VicoopError

__all__ = [
    "Connection",
    "Crosswalk",
    "IntersectionError",
    "IntersectionMap",
    "Lane",
    "LaneDirection",
    "LaneKind",
    "Manoeuvre",
    "SignalGroup",
    "StopLine",
    "validate",
]

Point = tuple[float, float]

MAX_LANE_ID = 255
MAX_CONNECTION_ID = 255
MAX_SIGNAL_GROUP = 255
MAX_APPROACH_ID = 15
MAX_REVISION = 127  # J2735 MsgCount
MAX_COORD_M = 100_000.0  # a site's ENU frame: nothing farther from its origin
MIN_LENGTH_M = 0.1  # a centre line (or a stop line) shorter than this is no line


class IntersectionError(VicoopError, ValueError):
    """An intersection model that is not whole; the message names the field and says why."""


class LaneDirection(enum.Enum):
    """Which way traffic uses a lane relative to the intersection (J2735 ``LaneDirection``)."""

    INGRESS = "ingress"  # towards the junction: ends at a stop line
    EGRESS = "egress"  # away from the junction


class LaneKind(enum.Enum):
    """What a lane is for (J2735 ``LaneTypeAttributes``)."""

    VEHICLE = "vehicle"
    BIKE = "bike"
    SIDEWALK = "sidewalk"
    TRACKED = "tracked"  # tram, light rail
    BUS = "bus"


class Manoeuvre(enum.IntFlag):
    """J2735 ``AllowedManeuvers``: the bit numbers of the standard's bit string."""

    NONE = 0
    STRAIGHT = 1 << 0
    LEFT = 1 << 1
    RIGHT = 1 << 2
    U_TURN = 1 << 3
    LEFT_ON_RED = 1 << 4
    RIGHT_ON_RED = 1 << 5
    LANE_CHANGE = 1 << 6
    NO_STOPPING = 1 << 7
    YIELD_ALWAYS = 1 << 8
    GO_WITH_HALT = 1 << 9
    CAUTION = 1 << 10

    def names(self) -> tuple[str, ...]:
        """The flags set, lower-case (``straight``, ``left``...), lowest bit first."""
        return tuple(
            str(m.name).lower() for m in Manoeuvre if m and m.name is not None and m in self
        )

    @staticmethod
    def from_names(names: Iterable[str]) -> Manoeuvre:
        """``["straight", "right"]`` -> STRAIGHT | RIGHT; an unknown name is a ``ValueError``."""
        out = Manoeuvre.NONE
        for name in names:
            try:
                out |= Manoeuvre[name.upper()]
            except KeyError:
                known = ", ".join(MANOEUVRE_NAMES)
                raise ValueError(f"unknown manoeuvre {name!r} (one of {known})") from None
        return out


MANOEUVRE_NAMES = tuple(str(m.name).lower() for m in Manoeuvre if m)


@dataclass(frozen=True, slots=True)
class Lane:
    """One lane of an intersection's arm.

    ``lane_id`` 0..255 (J2735 LaneID, unique in the intersection with the crosswalks'); ``name``
    where it comes from (a SUMO lane id, the site file's name); ``centre_line`` (ENU metres,
    at least two points) in travel direction; ``width_m``; ``approach`` 0..15 (0 unknown);
    ``manoeuvres`` what the lane allows at its end (ingress) or may be reached by (egress).
    """

    lane_id: int
    name: str
    kind: LaneKind
    direction: LaneDirection
    approach: int
    centre_line: tuple[Point, ...]
    width_m: float
    manoeuvres: Manoeuvre = Manoeuvre.NONE
    speed_limit_mps: float | None = None

    @property
    def line(self) -> shapely.LineString:
        """The centre line as a shapely ``LineString``."""
        return shapely.LineString(self.centre_line)

    @property
    def end_direction(self) -> Point:
        """Unit vector of the last segment (travel direction where the lane ends)."""
        (x0, y0), (x1, y1) = self.centre_line[-2], self.centre_line[-1]
        n = math.hypot(x1 - x0, y1 - y0) or 1.0
        return ((x1 - x0) / n, (y1 - y0) / n)


@dataclass(frozen=True, slots=True)
class StopLine:
    """Where traffic on ingress lane ``lane_id`` stops: a segment across the lane (ENU m)."""

    lane_id: int
    start: Point
    end: Point

    @property
    def midpoint(self) -> Point:
        return ((self.start[0] + self.end[0]) / 2, (self.start[1] + self.end[1]) / 2)

    @staticmethod
    def at_end_of(lane: Lane) -> StopLine:
        """The stop line across the end of ``lane``'s centre line, ``width_m`` long."""
        x, y = lane.centre_line[-1]
        dx, dy = lane.end_direction
        h = lane.width_m / 2
        return StopLine(lane.lane_id, (x - dy * h, y + dx * h), (x + dy * h, y - dx * h))


@dataclass(frozen=True, slots=True)
class Connection:
    """A movement through the junction from ingress lane ``from_lane`` to egress lane
    ``to_lane``, released by ``signal_group`` (None: not signalised, e.g. a free right turn).

    ``connection_id`` 0..255 (J2735 LaneConnectionID); ``manoeuvre`` the one turn it is.
    """

    connection_id: int
    from_lane: int
    to_lane: int
    signal_group: int | None
    manoeuvre: Manoeuvre = Manoeuvre.NONE


@dataclass(frozen=True, slots=True)
class SignalGroup:
    """A set of signal heads that always show the same state (J2735 SignalGroupID 1..255).
    ``name`` says where it comes from (e.g. SUMO ``B1:0,1,2`` for its tls id and link
    indices)."""

    signal_group: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class Crosswalk:
    """A pedestrian crossing: its centre line (ENU m, from one kerb to the other), width, the
    signal group that releases it (None: unsignalised) and the lanes it crosses."""

    crosswalk_id: int
    name: str
    centre_line: tuple[Point, ...]
    width_m: float
    signal_group: int | None = None
    crosses: tuple[int, ...] = ()

    @property
    def area(self) -> shapely.Polygon:
        """The crosswalk as a polygon (its centre line buffered by half its width, flat ends)."""
        poly: shapely.Polygon = shapely.LineString(self.centre_line).buffer(
            self.width_m / 2, cap_style="flat"
        )
        return poly


@dataclass(frozen=True, slots=True)
class IntersectionMap:
    """One intersection's map (a MAP message's ``IntersectionGeometry``).

    ``reference_xy`` is the intersection's reference point (ENU m), ``revision`` 0..127 counts
    up with every change of the map (J2735 MsgCount). ``conflicts`` are ordered pairs ``(a, b)``:
    group ``a``'s movements cross group ``b``'s; the matrix is symmetric, so ``(b, a)`` is
    there too.
    """

    intersection_id: str
    revision: int
    reference_xy: Point
    lanes: tuple[Lane, ...]
    stop_lines: tuple[StopLine, ...]
    connections: tuple[Connection, ...]
    signal_groups: tuple[SignalGroup, ...]
    conflicts: tuple[tuple[int, int], ...] = ()
    crosswalks: tuple[Crosswalk, ...] = ()

    def lane(self, lane_id: int) -> Lane:
        """The lane ``lane_id`` (KeyError if there is none)."""
        for lane in self.lanes:
            if lane.lane_id == lane_id:
                return lane
        raise KeyError(lane_id)

    @property
    def group_ids(self) -> tuple[int, ...]:
        return tuple(g.signal_group for g in self.signal_groups)

    def conflicting(self, group: int) -> frozenset[int]:
        """The groups whose movements cross ``group``'s."""
        return frozenset(b for a, b in self.conflicts if a == group)

    def ingress_lanes(self, group: int) -> tuple[int, ...]:
        """The ingress lanes with a connection ``group`` releases, in lane id order."""
        return tuple(sorted({c.from_lane for c in self.connections if c.signal_group == group}))

    def node_offsets(self, lane: Lane) -> tuple[Point, ...]:
        """``lane``'s centre line as offsets (m) from ``reference_xy`` (a MAPEM node list)."""
        rx, ry = self.reference_xy
        return tuple((x - rx, y - ry) for x, y in lane.centre_line)


def _finite_points(points: Sequence[Point], where: str) -> None:
    if len(points) < 2:
        raise IntersectionError(f"{where}: needs at least 2 points, got {len(points)}")
    for k, p in enumerate(points):
        if len(p) != 2 or not all(math.isfinite(v) and abs(v) <= MAX_COORD_M for v in p):
            raise IntersectionError(
                f"{where}[{k}]: not an (x, y) point within {MAX_COORD_M:g} m of the origin: {p!r}"
            )
    if shapely.LineString(points).length < MIN_LENGTH_M:
        raise IntersectionError(f"{where}: shorter than {MIN_LENGTH_M:g} m")


def _id_in(value: object, low: int, high: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise IntersectionError(f"{where}: must be an integer {low}..{high}, got {value!r}")
    return value


def _width(value: float, where: str) -> None:
    if not (math.isfinite(value) and 0.0 < value <= 50.0):
        raise IntersectionError(f"{where}: must be > 0 and <= 50 m, got {value!r}")


def validate(m: IntersectionMap, where: str = "") -> IntersectionMap:
    """Check ``m`` is whole and return it; else one ``IntersectionError`` naming the first field
    that is wrong, prefixed with ``where`` (e.g. ``intersections[0]``)."""
    p = f"{where}." if where else ""
    if not m.intersection_id:
        raise IntersectionError(f"{p}intersection_id: must not be empty")
    _id_in(m.revision, 0, MAX_REVISION, f"{p}revision")
    if len(m.reference_xy) != 2 or not all(
        math.isfinite(v) and abs(v) <= MAX_COORD_M for v in m.reference_xy
    ):
        raise IntersectionError(
            f"{p}reference_xy: not a point within {MAX_COORD_M:g} m of the origin: {m.reference_xy!r}"
        )

    lanes: dict[int, Lane] = {}
    for i, lane in enumerate(m.lanes):
        w = f"{p}lanes[{i}]"
        _id_in(lane.lane_id, 0, MAX_LANE_ID, f"{w}.lane_id")
        if lane.lane_id in lanes:
            raise IntersectionError(f"{w}.lane_id: lane {lane.lane_id} appears twice")
        _id_in(lane.approach, 0, MAX_APPROACH_ID, f"{w}.approach")
        _finite_points(lane.centre_line, f"{w}.centre_line")
        _width(lane.width_m, f"{w}.width_m")
        if lane.speed_limit_mps is not None and not 0.0 < lane.speed_limit_mps <= 100.0:
            raise IntersectionError(
                f"{w}.speed_limit_mps: must be > 0 and <= 100, got {lane.speed_limit_mps!r}"
            )
        lanes[lane.lane_id] = lane

    groups: set[int] = set()
    for i, g in enumerate(m.signal_groups):
        w = f"{p}signal_groups[{i}].signal_group"
        _id_in(g.signal_group, 1, MAX_SIGNAL_GROUP, w)
        if g.signal_group in groups:
            raise IntersectionError(f"{w}: group {g.signal_group} appears twice")
        groups.add(g.signal_group)

    def lane_of(lane_id: int, direction: LaneDirection, w: str) -> None:
        if lane_id not in lanes:
            raise IntersectionError(f"{w}: unknown lane {lane_id!r}")
        if lanes[lane_id].direction is not direction:
            raise IntersectionError(f"{w}: lane {lane_id} is not an {direction.value} lane")

    def group_of(group: int | None, w: str, optional: bool = True) -> None:
        if (group is not None or not optional) and group not in groups:
            raise IntersectionError(f"{w}: unknown signal group {group!r}")

    stopped: set[int] = set()
    for i, s in enumerate(m.stop_lines):
        w = f"{p}stop_lines[{i}]"
        lane_of(s.lane_id, LaneDirection.INGRESS, f"{w}.lane_id")
        if s.lane_id in stopped:
            raise IntersectionError(f"{w}.lane_id: lane {s.lane_id} has two stop lines")
        stopped.add(s.lane_id)
        for name, point in (("start", s.start), ("end", s.end)):
            if len(point) != 2 or not all(
                math.isfinite(v) and abs(v) <= MAX_COORD_M for v in point
            ):
                raise IntersectionError(
                    f"{w}.{name}: not an (x, y) point within {MAX_COORD_M:g} m of the origin: "
                    f"{point!r}"
                )
        _finite_points((s.start, s.end), f"{w}")

    used: set[int] = set()
    ids: set[int] = set()
    for i, c in enumerate(m.connections):
        w = f"{p}connections[{i}]"
        _id_in(c.connection_id, 0, MAX_CONNECTION_ID, f"{w}.connection_id")
        if c.connection_id in ids:
            raise IntersectionError(
                f"{w}.connection_id: connection {c.connection_id} appears twice"
            )
        ids.add(c.connection_id)
        lane_of(c.from_lane, LaneDirection.INGRESS, f"{w}.from_lane")
        lane_of(c.to_lane, LaneDirection.EGRESS, f"{w}.to_lane")
        group_of(c.signal_group, f"{w}.signal_group")
        if c.signal_group is not None:
            used.add(c.signal_group)

    walks: set[int] = set()
    for i, x in enumerate(m.crosswalks):
        w = f"{p}crosswalks[{i}]"
        _id_in(x.crosswalk_id, 0, MAX_LANE_ID, f"{w}.crosswalk_id")
        if x.crosswalk_id in lanes or x.crosswalk_id in walks:
            raise IntersectionError(
                f"{w}.crosswalk_id: id {x.crosswalk_id} is already a lane's or a crosswalk's"
            )
        walks.add(x.crosswalk_id)
        _finite_points(x.centre_line, f"{w}.centre_line")
        _width(x.width_m, f"{w}.width_m")
        group_of(x.signal_group, f"{w}.signal_group")
        if x.signal_group is not None:
            used.add(x.signal_group)
        for k, lane_id in enumerate(x.crosses):
            if lane_id not in lanes:
                raise IntersectionError(f"{w}.crosses[{k}]: unknown lane {lane_id!r}")

    for i, g in enumerate(m.signal_groups):
        if g.signal_group not in used:
            raise IntersectionError(
                f"{p}signal_groups[{i}]: group {g.signal_group} is used by no connection "
                "or crosswalk"
            )

    pairs = set()
    for i, (a, b) in enumerate(m.conflicts):
        w = f"{p}conflicts[{i}]"
        group_of(a, w, optional=False)  # a conflict is between two groups, never "none"
        group_of(b, w, optional=False)
        if a == b:
            raise IntersectionError(f"{w}: group {a} cannot conflict with itself")
        pairs.add((a, b))
    for i, (a, b) in enumerate(m.conflicts):
        if (b, a) not in pairs:
            raise IntersectionError(
                f"{p}conflicts[{i}]: not symmetric: group {a} conflicts with {b} "
                f"but {b} not with {a}"
            )
    return m
