"""ETSI MAPEM (ISO TS 19091 / SAE J2735 MapData, UPER) from and to vicoop's ``IntersectionMap``.

Each map is one ``IntersectionGeometry``:

- ``id.id`` the J2735 IntersectionReferenceID the caller gives (0..65535), ``name`` the model's
  ``intersection_id`` (IA5String, 1..63 characters), ``revision`` the map's revision;
- ``refPoint``: ``reference_xy`` (ENU m about the RSU's ``origin``) as WGS84 latitude and
  longitude in 1/10 micro degree (about 1 cm); no elevation;
- ``laneWidth`` the first lane's width (cm); a lane or crosswalk of another width says so with
  ``dWidth`` on its first node;
- ``laneSet``: one ``GenericLane`` per lane, then one per crosswalk (at most 255 in all).
  ``laneID``, ``name``, ``ingressApproach``/``egressApproach`` (the lane's approach, absent
  when 0), ``directionalUse`` (ingressPath bit 0, egressPath bit 1; a crosswalk both),
  ``laneType`` (vehicle, vehicle with ``restrictedToBusUse`` for a bus lane, bikeLane,
  sidewalk, trackedVehicle, crosswalk), ``maneuvers`` (``AllowedManeuvers``, absent when none);
- ``nodeList.nodes``: the centre line as node-XY offsets in cm, each in the smallest of
  node-XY1..6 that fits; the first node from the reference point, each later one from the node
  before. **Order**: J2735 starts every lane's node list at the end nearest the intersection
  (an ingress lane's stop line) and runs away from it; our centre lines run in travel direction,
  so an ingress lane's points are reversed on encode and back on decode. Node positions are
  rounded to the cm from the reference point (not per delta: rounding never accumulates);
- a lane's ``speed_limit_mps`` is a ``vehicleMaxSpeed`` in its first node's ``speedLimits``
  (units of 0.02 m/s);
- connections: in their ingress lane's ``connectsTo``: ``connectingLane`` (the egress lane and
  the manoeuvre), ``signalGroup`` (absent: not signalised), ``connectionID`` (at most 16 per
  lane). A crosswalk's signal group is a ``connectsTo`` entry from the crosswalk to itself (how
  J2735 deployments signal a crosswalk); the lanes it ``crosses`` are its ``overlays`` (at most 5).

Stop lines: J2735 has none of its own; an ingress lane's stop line is its first node (the one
nearest the junction). A stop line's own segment is not carried: the decoded map has the stop
line across the end of each ingress lane, ``width_m`` long (``StopLine.at_end_of``, what the
site file does when it gives none).

Not carried: the signal groups' names (the decoded groups are those the connections and
crosswalks use, unnamed) and the conflicts between groups (J2735 MapData has no conflict
matrix); intersection and lane names longer than 63 characters are refused.
"""

from __future__ import annotations

import math
from typing import Any

from pycrate_asn1dir import ITS_IS

from roadside.its.spatem import PROTOCOL_VERSION, ItsCodecError
from vicoop.geodesy import enu_to_geodetic, geodetic_to_enu
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
from vicoop.model import GeodeticOrigin

__all__ = ["MESSAGE_ID_MAPEM", "decode_mapem", "encode_mapem", "mapem_value"]

MESSAGE_ID_MAPEM = 5
MAX_LANES = 255  # J2735 LaneList SIZE(1..255)
MAX_CONNECTIONS_PER_LANE = 16  # ConnectsToList SIZE(1..16)
MAX_NODES = 63  # NodeSetXY SIZE(2..63)
MAX_OVERLAYS = 5  # OverlayLaneList SIZE(1..5)
MAX_NAME = 63  # DescriptiveName IA5String SIZE(1..63)
# node-XY1..6: Offset-B10, B11, B12, B13, B14, B16 (cm).
_NODE_BITS = ((1, 10), (2, 11), (3, 12), (4, 13), (5, 14), (6, 16))
_DWIDTH_CM = 511  # Offset-B10
_SPEED_UNIT_MPS = 0.02  # Velocity
_MAX_SPEED = 8190  # 8191 is "unavailable"
_MANOEUVRE_LEN = 12
_BUS_BIT = 3  # LaneAttributes-Vehicle restrictedToBusUse
_LANE_TYPES = {
    LaneKind.VEHICLE: ("vehicle", 8),
    LaneKind.BUS: ("vehicle", 8),
    LaneKind.BIKE: ("bikeLane", 16),
    LaneKind.SIDEWALK: ("sidewalk", 16),
    LaneKind.TRACKED: ("trackedVehicle", 16),
}
_CROSSWALK_TYPE = ("crosswalk", 16)
_KINDS = {"bikeLane": LaneKind.BIKE, "sidewalk": LaneKind.SIDEWALK}
_KINDS["trackedVehicle"] = LaneKind.TRACKED
_INGRESS_BIT, _EGRESS_BIT = 0, 1

Point = tuple[float, float]


def _bits(set_bits: list[int], length: int) -> tuple[int, int]:
    value = 0
    for bit in set_bits:
        value |= 1 << (length - 1 - bit)
    return (value, length)


def _set_bits(bits: tuple[int, int]) -> set[int]:
    value, length = bits
    return {b for b in range(length) if value >> (length - 1 - b) & 1}


def _manoeuvre_bits(m: Manoeuvre) -> tuple[int, int]:
    return _bits([b for b in range(_MANOEUVRE_LEN) if int(m) >> b & 1], _MANOEUVRE_LEN)


def _manoeuvre(bits: tuple[int, int]) -> Manoeuvre:
    out = Manoeuvre.NONE
    for b in _set_bits(bits):
        if b <= 10:
            out |= Manoeuvre(1 << b)
    return out


def _name(text: str, where: str) -> dict[str, str]:
    if not text:
        return {}
    if len(text) > MAX_NAME or not text.isascii():
        raise ItsCodecError(
            f"{where}: a J2735 DescriptiveName is 1..{MAX_NAME} ASCII characters, got {text!r}"
        )
    return {"name": text}


def _delta(dx_cm: int, dy_cm: int, where: str) -> tuple[str, dict[str, int]]:
    for n, bits in _NODE_BITS:
        limit = 1 << (bits - 1)
        if -limit <= dx_cm < limit and -limit <= dy_cm < limit:
            return f"node-XY{n}", {"x": dx_cm, "y": dy_cm}
    raise ItsCodecError(
        f"{where}: offset ({dx_cm / 100:.2f}, {dy_cm / 100:.2f}) m from the previous node does "
        "not fit node-XY6 (-327.68..327.67 m)"
    )


def _nodes(
    offsets: list[Point], where: str, first_attributes: dict[str, Any]
) -> list[dict[str, Any]]:
    if not 2 <= len(offsets) <= MAX_NODES:
        raise ItsCodecError(f"{where}: J2735 takes 2..{MAX_NODES} nodes, got {len(offsets)}")
    nodes: list[dict[str, Any]] = []
    px = py = 0
    for k, (x, y) in enumerate(offsets):
        cx, cy = round(x * 100), round(y * 100)
        node: dict[str, Any] = {"delta": _delta(cx - px, cy - py, f"{where}[{k}]")}
        if k == 0 and first_attributes:
            node["attributes"] = first_attributes
        nodes.append(node)
        px, py = cx, cy
    return nodes


def _first_attributes(
    width_m: float, lane_width_cm: int, speed_mps: float | None, where: str
) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    d_width = round(width_m * 100) - lane_width_cm
    if d_width:
        if not -_DWIDTH_CM - 1 <= d_width <= _DWIDTH_CM:
            raise ItsCodecError(
                f"{where}.width_m: {width_m} m differs from the intersection's laneWidth "
                f"({lane_width_cm / 100} m) by more than dWidth's 5.11 m"
            )
        attrs["dWidth"] = d_width
    if speed_mps is not None:
        speed = min(_MAX_SPEED, round(speed_mps / _SPEED_UNIT_MPS))
        attrs["data"] = [("speedLimits", [{"type": "vehicleMaxSpeed", "speed": speed}])]
    return attrs


def _ref_point(m: IntersectionMap, origin: GeodeticOrigin) -> dict[str, int]:
    rx, ry = m.reference_xy
    lat, lon, _ = enu_to_geodetic([[rx, ry, 0.0]], origin)[0]
    return {"lat": round(float(lat) * 1e7), "long": round(float(lon) * 1e7)}


def mapem_value(
    m: IntersectionMap, intersection_ref: int, origin: GeodeticOrigin, where: str = ""
) -> dict[str, Any]:
    """The J2735 IntersectionGeometry of ``m`` (pycrate value) at reference id
    ``intersection_ref`` (0..65535); ``where`` prefixes the field named in an error."""
    p = f"{where}." if where else ""
    if not 0 <= intersection_ref <= 65535:
        raise ItsCodecError(f"{p}id: IntersectionID must be 0..65535, got {intersection_ref}")
    count = len(m.lanes) + len(m.crosswalks)
    if not 1 <= count <= MAX_LANES:
        raise ItsCodecError(
            f"{p}laneSet: J2735 takes 1..{MAX_LANES} lanes (crosswalks included), got {count}"
        )
    widths = [lane.width_m for lane in m.lanes] + [x.width_m for x in m.crosswalks]
    lane_width_cm = round(widths[0] * 100)
    by_lane: dict[int, list[Connection]] = {}
    for c in m.connections:
        by_lane.setdefault(c.from_lane, []).append(c)
    lanes: list[dict[str, Any]] = []
    for i, lane in enumerate(m.lanes):
        w = f"{p}lanes[{i}]"
        kind, length = _LANE_TYPES[lane.kind]
        ingress = lane.direction is LaneDirection.INGRESS
        offsets = list(m.node_offsets(lane))
        if ingress:
            offsets.reverse()
        first = _first_attributes(lane.width_m, lane_width_cm, lane.speed_limit_mps, w)
        value: dict[str, Any] = {"laneID": lane.lane_id, **_name(lane.name, f"{w}.name")}
        if lane.approach:
            value["ingressApproach" if ingress else "egressApproach"] = lane.approach
        value["laneAttributes"] = {
            "directionalUse": _bits([_INGRESS_BIT if ingress else _EGRESS_BIT], 2),
            "sharedWith": (0, 10),
            "laneType": (kind, _bits([_BUS_BIT] if lane.kind is LaneKind.BUS else [], length)),
        }
        if lane.manoeuvres:
            value["maneuvers"] = _manoeuvre_bits(lane.manoeuvres)
        value["nodeList"] = ("nodes", _nodes(offsets, f"{w}.centre_line", first))
        connections = by_lane.get(lane.lane_id, [])
        if len(connections) > MAX_CONNECTIONS_PER_LANE:
            raise ItsCodecError(
                f"{w}.connectsTo: J2735 takes at most {MAX_CONNECTIONS_PER_LANE} connections "
                f"per lane, lane {lane.lane_id} has {len(connections)}"
            )
        if connections:
            value["connectsTo"] = [_connection(c) for c in connections]
        lanes.append(value)
    for i, x in enumerate(m.crosswalks):
        w = f"{p}crosswalks[{i}]"
        rx, ry = m.reference_xy
        offsets = [(px - rx, py - ry) for px, py in x.centre_line]
        first = _first_attributes(x.width_m, lane_width_cm, None, w)
        value = {"laneID": x.crosswalk_id, **_name(x.name, f"{w}.name")}
        value["laneAttributes"] = {
            "directionalUse": _bits([_INGRESS_BIT, _EGRESS_BIT], 2),
            "sharedWith": (0, 10),
            "laneType": (_CROSSWALK_TYPE[0], (0, _CROSSWALK_TYPE[1])),
        }
        value["nodeList"] = ("nodes", _nodes(offsets, f"{w}.centre_line", first))
        if x.signal_group is not None:
            value["connectsTo"] = [
                {"connectingLane": {"lane": x.crosswalk_id}, "signalGroup": x.signal_group}
            ]
        if x.crosses:
            if len(x.crosses) > MAX_OVERLAYS:
                raise ItsCodecError(
                    f"{w}.crosses: J2735 overlays take at most {MAX_OVERLAYS} lanes, "
                    f"got {len(x.crosses)}"
                )
            value["overlays"] = list(x.crosses)
        lanes.append(value)
    return {
        **_name(m.intersection_id, f"{p}intersection_id"),
        "id": {"id": intersection_ref},
        "revision": m.revision,
        "refPoint": _ref_point(m, origin),
        "laneWidth": lane_width_cm,
        "laneSet": lanes,
    }


def _connection(c: Connection) -> dict[str, Any]:
    lane: dict[str, Any] = {"lane": c.to_lane}
    if c.manoeuvre:
        lane["maneuver"] = _manoeuvre_bits(c.manoeuvre)
    out: dict[str, Any] = {"connectingLane": lane}
    if c.signal_group is not None:
        out["signalGroup"] = c.signal_group
    out["connectionID"] = c.connection_id
    return out


def encode_mapem(
    maps: list[tuple[IntersectionMap, int]], origin: GeodeticOrigin, station_id: int
) -> bytes:
    """One MAPEM (UPER) of ``(map, intersection_ref)`` pairs, their ENU frame about ``origin``,
    sent by ``station_id``."""
    if not 0 <= station_id <= 0xFFFFFFFF:
        raise ItsCodecError(f"StationID must be 0..4294967295, got {station_id}")
    if not 1 <= len(maps) <= 32:
        raise ItsCodecError(f"a MapData holds 1..32 intersections, got {len(maps)}")
    intersections = [
        mapem_value(m, ref, origin, f"intersections[{i}]") for i, (m, ref) in enumerate(maps)
    ]
    pdu = ITS_IS.MAPEM_PDU_Descriptions.MAPEM
    value = {
        "header": {
            "protocolVersion": PROTOCOL_VERSION,
            "messageID": MESSAGE_ID_MAPEM,
            "stationID": station_id,
        },
        "map": {
            "msgIssueRevision": max(m.revision for m, _ in maps),
            "layerType": "intersectionData",
            "intersections": intersections,
        },
    }
    try:
        pdu.set_val(value)
        return bytes(pdu.to_uper())
    except Exception as exc:  # pycrate raises its own error types, one per failing constraint
        raise ItsCodecError(f"MAPEM cannot be encoded: {exc}") from None


def _node_points(nodes: list[dict[str, Any]], where: str) -> tuple[list[Point], dict[str, Any]]:
    points: list[Point] = []
    x = y = 0
    for k, node in enumerate(nodes):
        kind, delta = node["delta"]
        if not kind.startswith("node-XY"):
            raise ItsCodecError(f"{where}[{k}].delta: {kind} is not supported (only node-XY)")
        x, y = x + delta["x"], y + delta["y"]
        points.append((x / 100, y / 100))
    return points, nodes[0].get("attributes", {})


def _lane_geometry(
    lane: dict[str, Any], reference: Point, lane_width_cm: int, where: str
) -> tuple[tuple[Point, ...], float, float | None]:
    kind, nodes = lane["nodeList"]
    if kind != "nodes":
        raise ItsCodecError(f"{where}.nodeList: {kind} lanes are not supported")
    offsets, attrs = _node_points(nodes, f"{where}.nodeList.nodes")
    points = tuple((reference[0] + dx, reference[1] + dy) for dx, dy in offsets)
    width = (lane_width_cm + attrs.get("dWidth", 0)) / 100
    speed = None
    for name, data in attrs.get("data", []):
        if name == "speedLimits":
            for limit in data:
                if limit["type"] == "vehicleMaxSpeed" and limit["speed"] <= _MAX_SPEED:
                    speed = limit["speed"] * _SPEED_UNIT_MPS
    return points, width, speed


def _decode_geometry(
    inter: dict[str, Any], origin: GeodeticOrigin, where: str
) -> tuple[int, IntersectionMap]:
    ref = inter["id"]["id"]
    point = inter["refPoint"]
    enu = geodetic_to_enu([[point["lat"] / 1e7, point["long"] / 1e7]], origin)[0]
    reference = (float(enu[0]), float(enu[1]))
    lane_width_cm = inter.get("laneWidth", 0)
    lanes: list[Lane] = []
    crosswalks: list[Crosswalk] = []
    connections: list[Connection] = []
    for i, lane in enumerate(inter["laneSet"]):
        w = f"{where}.laneSet[{i}]"
        attrs = lane["laneAttributes"]
        type_name, type_bits = attrs["laneType"]
        points, width, speed = _lane_geometry(lane, reference, lane_width_cm, w)
        lane_id = lane["laneID"]
        connects = lane.get("connectsTo", [])
        if type_name == "crosswalk":
            groups = [
                c["signalGroup"]
                for c in connects
                if c["connectingLane"]["lane"] == lane_id and "signalGroup" in c
            ]
            crosswalks.append(
                Crosswalk(
                    lane_id,
                    lane.get("name", ""),
                    points,
                    width,
                    groups[0] if groups else None,
                    tuple(lane.get("overlays", ())),
                )
            )
            continue
        if type_name == "vehicle":
            kind = LaneKind.BUS if _BUS_BIT in _set_bits(type_bits) else LaneKind.VEHICLE
        elif type_name in _KINDS:
            kind = _KINDS[type_name]
        else:
            raise ItsCodecError(f"{w}.laneAttributes.laneType: {type_name} is not supported")
        use = _set_bits(attrs["directionalUse"])
        if use == {_INGRESS_BIT}:
            direction = LaneDirection.INGRESS
        elif use == {_EGRESS_BIT}:
            direction = LaneDirection.EGRESS
        else:
            raise ItsCodecError(
                f"{w}.laneAttributes.directionalUse: a lane is ingress or egress, got bits "
                f"{sorted(use)}"
            )
        if direction is LaneDirection.INGRESS:
            points = points[::-1]
        approach = lane.get("ingressApproach", lane.get("egressApproach", 0))
        manoeuvres = _manoeuvre(lane["maneuvers"]) if "maneuvers" in lane else Manoeuvre.NONE
        lanes.append(
            Lane(
                lane_id,
                lane.get("name", ""),
                kind,
                direction,
                approach,
                points,
                width,
                manoeuvres,
                speed,
            )
        )
        for k, c in enumerate(connects):
            if "connectionID" not in c:
                raise ItsCodecError(
                    f"{w}.connectsTo[{k}].connectionID: missing (vicoop's model needs it)"
                )
            target = c["connectingLane"]
            connections.append(
                Connection(
                    c["connectionID"],
                    lane_id,
                    target["lane"],
                    c.get("signalGroup"),
                    _manoeuvre(target["maneuver"]) if "maneuver" in target else Manoeuvre.NONE,
                )
            )
    used = {c.signal_group for c in connections} | {x.signal_group for x in crosswalks}
    signal_groups = tuple(SignalGroup(g) for g in sorted(g for g in used if g is not None))
    stops = tuple(
        StopLine.at_end_of(lane) for lane in lanes if lane.direction is LaneDirection.INGRESS
    )
    m = IntersectionMap(
        inter.get("name", str(ref)),
        inter["revision"],
        reference,
        tuple(lanes),
        stops,
        tuple(sorted(connections, key=lambda c: c.connection_id)),
        signal_groups,
        (),
        tuple(crosswalks),
    )
    try:
        return ref, validate(m, where)
    except IntersectionError as exc:
        raise ItsCodecError(f"MAPEM is not a whole map: {exc}") from None


def decode_mapem(
    data: bytes, origin: GeodeticOrigin
) -> tuple[int, list[tuple[int, IntersectionMap]]]:
    """``(station_id, [(intersection_ref, map)])`` of a MAPEM, the maps in the ENU frame about
    ``origin``; a map's ``intersection_id`` is its name, else its reference id as text."""
    pdu = ITS_IS.MAPEM_PDU_Descriptions.MAPEM
    try:
        pdu.from_uper(data)
    except Exception as exc:
        raise ItsCodecError(f"not a MAPEM: {exc}") from None
    value = pdu.get_val()
    header = value["header"]
    if header["messageID"] != MESSAGE_ID_MAPEM:
        raise ItsCodecError(f"header.messageID is {header['messageID']}, not MAPEM (5)")
    out = [
        _decode_geometry(inter, origin, f"intersections[{i}]")
        for i, inter in enumerate(value["map"].get("intersections", []))
    ]
    if any(not math.isfinite(v) for _, m in out for v in m.reference_xy):
        raise ItsCodecError("refPoint: not a finite position")
    return header["stationID"], out
