"""MAP between the kernel's intersection model (``vicoop.intersection``) and the ``vicoop.v1``
contract (``map.proto``). Decoding checks every field (``vicoop.intersection.validate``) and
raises ``CodecError`` naming the first one that is wrong."""

from __future__ import annotations

from collections.abc import Iterable

from protos.vicoop.v1 import common_pb2, map_pb2
from vicoop.errors import CodecError
from vicoop.intersection import (
    Connection,
    Crosswalk,
    IntersectionError,
    IntersectionMap,
    Lane,
    LaneDirection,
    LaneKind,
    Manoeuvre,
    Point,
    SignalGroup,
    StopLine,
    validate,
)

__all__ = ["map_from_proto", "map_to_proto"]

MAX_ITEMS = 256  # lanes, connections, groups, crosswalks: J2735's id ranges hold no more
MAX_POINTS = 63  # J2735 NodeSetXY: 2..63 nodes
_DIRECTIONS = {LaneDirection.INGRESS: 1, LaneDirection.EGRESS: 2}
_KINDS = {
    LaneKind.VEHICLE: 1,
    LaneKind.BIKE: 2,
    LaneKind.SIDEWALK: 3,
    LaneKind.TRACKED: 4,
    LaneKind.BUS: 5,
}
_DIRECTION_OF = {v: k for k, v in _DIRECTIONS.items()}
_KIND_OF = {v: k for k, v in _KINDS.items()}
_ALL_MANOEUVRES = int(Manoeuvre.from_names(m.name.lower() for m in Manoeuvre if m and m.name))


def _point(p: Point) -> common_pb2.Point2:
    return common_pb2.Point2(x_m=p[0], y_m=p[1])


def _points(points: Iterable[Point]) -> list[common_pb2.Point2]:
    return [_point(p) for p in points]


def map_to_proto(m: IntersectionMap) -> map_pb2.IntersectionMap:
    pb = map_pb2.IntersectionMap(
        intersection_id=m.intersection_id,
        revision=m.revision,
        reference=_point(m.reference_xy),
    )
    for lane in m.lanes:
        out = pb.lanes.add(
            lane_id=lane.lane_id,
            name=lane.name,
            kind=_KINDS[lane.kind],  # type: ignore[arg-type]
            direction=_DIRECTIONS[lane.direction],  # type: ignore[arg-type]
            approach=lane.approach,
            centre_line=_points(lane.centre_line),
            width_m=lane.width_m,
            manoeuvres=int(lane.manoeuvres),
        )
        if lane.speed_limit_mps is not None:
            out.speed_limit_mps = lane.speed_limit_mps
    for stop in m.stop_lines:
        pb.stop_lines.add(lane_id=stop.lane_id, start=_point(stop.start), end=_point(stop.end))
    for c in m.connections:
        conn = pb.connections.add(
            connection_id=c.connection_id,
            from_lane=c.from_lane,
            to_lane=c.to_lane,
            manoeuvre=int(c.manoeuvre),
        )
        if c.signal_group is not None:
            conn.signal_group = c.signal_group
    for g in m.signal_groups:
        pb.signal_groups.add(signal_group=g.signal_group, name=g.name)
    for a, b in sorted({(min(a, b), max(a, b)) for a, b in m.conflicts}):
        pb.conflicts.add(first=a, second=b)
    for w in m.crosswalks:
        walk = pb.crosswalks.add(
            crosswalk_id=w.crosswalk_id,
            name=w.name,
            centre_line=_points(w.centre_line),
            width_m=w.width_m,
            crosses=list(w.crosses),
        )
        if w.signal_group is not None:
            walk.signal_group = w.signal_group
    return pb


def _count(items: object, name: str, limit: int = MAX_ITEMS) -> None:
    n = len(items)  # type: ignore[arg-type]
    if n > limit:
        raise CodecError(f"{name}: at most {limit}, got {n}")


def _line(points: Iterable[common_pb2.Point2], name: str) -> tuple[Point, ...]:
    line = tuple((p.x_m, p.y_m) for p in points)
    if not 2 <= len(line) <= MAX_POINTS:
        raise CodecError(f"{name}: 2..{MAX_POINTS} points, got {len(line)}")
    return line


def _manoeuvres(value: int, name: str) -> Manoeuvre:
    if value & ~_ALL_MANOEUVRES:
        raise CodecError(f"{name}: unknown AllowedManeuvers bits {value & ~_ALL_MANOEUVRES:#x}")
    return Manoeuvre(value)


def _lane(pb: map_pb2.Lane, name: str) -> Lane:
    kind = _KIND_OF.get(pb.kind)
    if kind is None:
        raise CodecError(f"{name}.kind: unknown LaneKind value {pb.kind}")
    direction = _DIRECTION_OF.get(pb.direction)
    if direction is None:
        raise CodecError(f"{name}.direction: unknown LaneDirection value {pb.direction}")
    return Lane(
        pb.lane_id,
        pb.name,
        kind,
        direction,
        pb.approach,
        _line(pb.centre_line, f"{name}.centre_line"),
        pb.width_m,
        _manoeuvres(pb.manoeuvres, f"{name}.manoeuvres"),
        pb.speed_limit_mps if pb.HasField("speed_limit_mps") else None,
    )


def map_from_proto(pb: map_pb2.IntersectionMap, name: str = "map") -> IntersectionMap:
    for field in ("lanes", "stop_lines", "connections", "signal_groups", "crosswalks"):
        _count(getattr(pb, field), f"{name}.{field}")
    _count(pb.conflicts, f"{name}.conflicts", 255 * 254 // 2)
    # Each pair as (first, second) and (second, first), in the message's order.
    conflicts = dict.fromkeys(
        pair for c in pb.conflicts for pair in ((c.first, c.second), (c.second, c.first))
    )
    m = IntersectionMap(
        pb.intersection_id,
        pb.revision,
        (pb.reference.x_m, pb.reference.y_m),
        tuple(_lane(lane, f"{name}.lanes[{i}]") for i, lane in enumerate(pb.lanes)),
        tuple(
            StopLine(s.lane_id, (s.start.x_m, s.start.y_m), (s.end.x_m, s.end.y_m))
            for s in pb.stop_lines
        ),
        tuple(
            Connection(
                c.connection_id,
                c.from_lane,
                c.to_lane,
                c.signal_group if c.HasField("signal_group") else None,
                _manoeuvres(c.manoeuvre, f"{name}.connections[{i}].manoeuvre"),
            )
            for i, c in enumerate(pb.connections)
        ),
        tuple(SignalGroup(g.signal_group, g.name) for g in pb.signal_groups),
        tuple(conflicts),
        tuple(
            Crosswalk(
                w.crosswalk_id,
                w.name,
                _line(w.centre_line, f"{name}.crosswalks[{i}].centre_line"),
                w.width_m,
                w.signal_group if w.HasField("signal_group") else None,
                tuple(w.crosses),
            )
            for i, w in enumerate(pb.crosswalks)
        ),
    )
    try:
        return validate(m, name)
    except IntersectionError as exc:
        raise CodecError(str(exc)) from None
