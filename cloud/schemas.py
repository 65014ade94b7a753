"""The control API's request and response schemas (pydantic; they make its OpenAPI document),
and their conversions from and to the twin's state and the domain types.

Positions are WGS84 degrees (GeoJSON order lon, lat in geometries); times are ns since the Unix
epoch; speeds m/s, lengths m, headings rad.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cloud.config import Role
from cloud.store import rules_to_json
from cloud.twin import RsuView, Twin
from vicoop.cloudmodel import SignalGroupState
from vicoop.geodesy import enu_to_geodetic
from vicoop.intersection import IntersectionMap
from vicoop.model import GeodeticOrigin, ObjectClass
from vicoop.zones import TimeWindow, Zone, ZoneRules, polygon_problem

ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
ClassName = Literal[
    "unknown", "pedestrian", "bicycle", "motorcycle", "car", "van", "truck", "bus", "tram", "animal"
]
EventKindName = Literal[
    "zone_speeding",
    "zone_closed_entry",
    "zone_class_not_allowed",
    "vehicle_report_rejected",
    "sensor_health",
    "other",
    "zone_permit_not_accepted",
    "outbox_overflow",
    "task_failed",
    "signal_command_refused",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TimeWindowIn(Strict):
    start_minute: int = Field(ge=0, lt=1440, description="minute of the day (UTC) it opens")
    end_minute: int = Field(gt=0, le=1440, description="minute of the day it closes")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default=[], max_length=7)

    @field_validator("end_minute")
    @classmethod
    def _differs(cls, end: int, info: Any) -> int:
        if info.data.get("start_minute") == end:
            raise ValueError("end_minute must differ from start_minute")
        return end


class RulesIn(Strict):
    speed_limit_mps: float = Field(0.0, ge=0, le=100, description="m/s; 0 = no limit")
    allowed_classes: list[ClassName] = Field(default=[], max_length=10)
    allowed_permit_ids: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default=[], max_length=1000
    )
    closed: bool = False
    closed_lanes: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default=[], max_length=100
    )
    time_windows: list[TimeWindowIn] = Field(default=[], max_length=50)
    min_headway_s: float = Field(0.0, ge=0, le=60)


class PolygonIn(Strict):
    """A GeoJSON Polygon (lon, lat degrees), exterior ring only."""

    type: Literal["Polygon"]
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1, max_length=1)

    @field_validator("coordinates")
    @classmethod
    def _simple(cls, rings: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        problem = polygon_problem(rings[0])
        if problem:
            raise ValueError(f"the polygon {problem}")
        return rings


class ZoneIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    geometry: PolygonIn
    rules: RulesIn = RulesIn()


class ZoneCreate(ZoneIn):
    zone_id: str = Field(pattern=ID_PATTERN)


class ZoneOut(BaseModel):
    zone_id: str
    version: int
    name: str
    geometry: dict[str, Any]
    rules: dict[str, Any]
    updated_at_ns: int


class RsuOut(BaseModel):
    rsu_id: str
    online: bool
    health: str
    latitude_deg: float
    longitude_deg: float
    coverage_radius_m: float
    last_seen_ns: int
    outbox_pending: int
    zone_versions: dict[str, int]
    sensors: list[dict[str, Any]]


class VehicleOut(BaseModel):
    """A connected vehicle's latest self-report, as its RSU passed it on (WGS84 degrees, m/s,
    heading in rad CCW from east, size in m)."""

    vehicle_id: str
    rsu_id: str
    vehicle_class: str
    latitude_deg: float
    longitude_deg: float
    speed_mps: float
    heading_rad: float
    length_m: float
    width_m: float
    height_m: float
    permit_id: str
    measured_at_ns: int
    received_at_ns: int


class SignalGroupOut(BaseModel):
    group_id: str
    approach: str
    colour: str
    next_change_ns: int


class IntersectionOut(BaseModel):
    intersection_id: str
    rsu_id: str
    latitude_deg: float
    longitude_deg: float
    signal: list[SignalGroupOut]
    measures: list[dict[str, Any]]


class MovementOut(BaseModel):
    """One signal group's state (J2735 MovementPhaseState, lower case) and when it ends (ns
    since the Unix epoch; None: not known, never a guess)."""

    signal_group: int
    state: str
    min_end_ns: int | None
    max_end_ns: int | None
    likely_end_ns: int | None
    confidence: float


class IntersectionSpatOut(BaseModel):
    intersection_id: str
    rsu_id: str
    valid_at_ns: int
    revision: int
    mode: str
    # Each group's state now first, then the ones predicted to follow.
    movements: list[MovementOut]


LatLon = tuple[float, float]


class LaneOut(BaseModel):
    lane_id: int
    name: str
    kind: str
    direction: str
    approach: int
    centre_line: list[LatLon]  # (latitude, longitude) degrees, in travel direction
    width_m: float
    manoeuvres: list[str]
    speed_limit_mps: float | None


class StopLineOut(BaseModel):
    lane_id: int
    line: list[LatLon]
    # The groups that release the lane's connections (its signal heads).
    signal_groups: list[int]


class ConnectionOut(BaseModel):
    connection_id: int
    from_lane: int
    to_lane: int
    signal_group: int | None
    manoeuvre: list[str]


class CrosswalkOut(BaseModel):
    crosswalk_id: int
    name: str
    centre_line: list[LatLon]
    width_m: float
    signal_group: int | None


class IntersectionMapOut(BaseModel):
    """An intersection's MAP as its RSU serves it to vehicles, positions in WGS84."""

    intersection_id: str
    rsu_id: str
    revision: int
    reference: LatLon
    lanes: list[LaneOut]
    stop_lines: list[StopLineOut]
    connections: list[ConnectionOut]
    signal_groups: list[dict[str, Any]]
    conflicts: list[tuple[int, int]]
    crosswalks: list[CrosswalkOut]


class SignalOut(BaseModel):
    intersection_id: str
    valid_at_ns: int
    groups: list[SignalGroupOut]


class ObjectOut(BaseModel):
    object_id: str
    object_class: str
    latitude_deg: float
    longitude_deg: float
    speed_mps: float
    heading_rad: float
    length_m: float
    width_m: float
    vehicle_id: str
    seen_by: list[str]
    valid_at_ns: int


class EventOut(BaseModel):
    id: int
    rsu_id: str
    sequence: int
    kind: str
    occurred_at_ns: int
    received_at_ns: int
    zone_id: str
    vehicle_id: str
    track_id: int
    x_m: float
    y_m: float
    value: float
    detail: str


class EventPage(BaseModel):
    events: list[EventOut]
    next_after_id: int = Field(description="pass as after_id for the next page")


class AlarmOut(BaseModel):
    """A supervised task that failed (``error``) or ended unexpectedly, and was restarted."""

    id: int
    at_ns: int
    source: str = Field(description="the RSU's id, or 'twin <worker id>' for the twin's own")
    task: str
    error: str


class AlarmPage(BaseModel):
    alarms: list[AlarmOut]
    next_after_id: int = Field(description="pass as after_id for the next page")


class Principal(BaseModel):
    name: str
    role: Role


def zone_out(zone: Zone) -> ZoneOut:
    return ZoneOut(
        zone_id=zone.zone_id,
        version=zone.version,
        name=zone.name,
        geometry=zone.to_geojson(),
        rules=rules_to_json(zone.rules),
        updated_at_ns=zone.updated_at_ns,
    )


def zone_from(zone_id: str, version: int, body: ZoneIn, now_ns: int) -> Zone:
    """The zone ``body`` describes, as ``version`` changed at ``now_ns`` (a closed ring's
    repeated last point dropped)."""
    ring = body.geometry.coordinates[0]
    rules = body.rules
    return Zone(
        zone_id=zone_id,
        version=version,
        name=body.name,
        polygon=tuple((lon, lat) for lon, lat in (ring[:-1] if ring[0] == ring[-1] else ring)),
        rules=ZoneRules(
            speed_limit_mps=rules.speed_limit_mps,
            allowed_classes=frozenset(ObjectClass[c.upper()] for c in rules.allowed_classes),
            allowed_permit_ids=frozenset(rules.allowed_permit_ids),
            closed=rules.closed,
            closed_lanes=tuple(rules.closed_lanes),
            time_windows=tuple(
                TimeWindow(w.start_minute, w.end_minute, frozenset(w.weekdays))
                for w in rules.time_windows
            ),
            min_headway_s=rules.min_headway_s,
        ),
        updated_at_ns=now_ns,
    )


def vehicles_out(twin: Twin) -> list[VehicleOut]:
    return [
        VehicleOut(
            vehicle_id=vehicle_id,
            rsu_id=rsu_id,
            vehicle_class=r.vehicle_class.name.lower(),
            latitude_deg=r.latitude_deg,
            longitude_deg=r.longitude_deg,
            speed_mps=r.speed_mps,
            heading_rad=r.heading_rad,
            length_m=r.size.length_m,
            width_m=r.size.width_m,
            height_m=r.size.height_m,
            permit_id=r.permit_id,
            measured_at_ns=r.measured_at_ns,
            received_at_ns=received_ns,
        )
        for vehicle_id, (rsu_id, r, received_ns) in sorted(twin.vehicle_reports.items())
    ]


def rsu_out(view: RsuView) -> RsuOut:
    return RsuOut(
        rsu_id=view.rsu_id,
        online=view.online,
        health=view.health.name.lower(),
        latitude_deg=view.origin.latitude_deg,
        longitude_deg=view.origin.longitude_deg,
        coverage_radius_m=view.coverage_radius_m,
        last_seen_ns=view.last_seen_ns,
        outbox_pending=view.outbox_pending,
        zone_versions=view.zone_versions,
        sensors=[
            {
                "sensor_id": s.sensor_id,
                "kind": s.kind.name.lower(),
                "health": s.health.name.lower(),
                "reason": s.reason,
            }
            for s in view.sensors
        ],
    )


def group_out(g: SignalGroupState) -> SignalGroupOut:
    return SignalGroupOut(
        group_id=g.group_id,
        approach=g.approach,
        colour=g.colour.name.lower(),
        next_change_ns=g.next_change_ns,
    )


def intersections_out(twin: Twin) -> list[IntersectionOut]:
    out = []
    for i in twin.intersections():
        state = twin.signals.get(i.intersection_id)
        out.append(
            IntersectionOut(
                intersection_id=i.intersection_id,
                rsu_id=i.rsu_id,
                latitude_deg=i.latitude_deg,
                longitude_deg=i.longitude_deg,
                signal=[group_out(g) for g in state.groups] if state else [],
                measures=[
                    {
                        "approach": m.approach,
                        "vehicle_count": m.vehicle_count,
                        "queue_length_m": m.queue_length_m,
                        "mean_speed_mps": m.mean_speed_mps,
                    }
                    for (iid, _), m in sorted(twin.measures.items())
                    if iid == i.intersection_id
                ],
            )
        )
    return out


def objects_out(twin: Twin, now_ns: int) -> list[ObjectOut]:
    return [
        ObjectOut(
            object_id=o.object_id,
            object_class=o.object_class.name.lower(),
            latitude_deg=o.latitude_deg,
            longitude_deg=o.longitude_deg,
            speed_mps=o.speed_mps,
            heading_rad=o.heading_rad,
            length_m=o.length_m,
            width_m=o.width_m,
            vehicle_id=o.vehicle_id,
            seen_by=list(o.seen_by),
            valid_at_ns=o.valid_at_ns,
        )
        for o in twin.objects(now_ns)
    ]


class SnapshotOut(BaseModel):
    """The live feed's ``snapshot`` event: the whole twin as the dashboard draws it."""

    rsus: list[RsuOut]
    intersections: list[IntersectionOut]
    spat: list[IntersectionSpatOut]
    objects: list[ObjectOut]
    zones: list[ZoneOut]


def spat_out(twin: Twin) -> list[IntersectionSpatOut]:
    """Every RSU's intersections' latest SPaT, by RSU then intersection id."""
    return [
        IntersectionSpatOut(
            intersection_id=spat.intersection_id,
            rsu_id=rsu_id,
            valid_at_ns=spat.valid_at_ns,
            revision=spat.revision,
            mode=spat.mode.name.lower(),
            movements=[
                MovementOut(
                    signal_group=m.signal_group,
                    state=m.state.name.lower(),
                    min_end_ns=m.min_end_ns,
                    max_end_ns=m.max_end_ns,
                    likely_end_ns=m.likely_end_ns,
                    confidence=m.confidence,
                )
                for m in spat.movements
            ],
        )
        for rsu_id, by_id in sorted(twin.spat.items())
        for _, spat in sorted(by_id.items())
    ]


def maps_out(twin: Twin) -> list[IntersectionMapOut]:
    """Every RSU's intersections' MAP in WGS84 (an RSU whose origin the twin does not know yet,
    no status so far, is left out)."""
    out = []
    for rsu_id, by_id in sorted(twin.maps.items()):
        view = twin.rsus.get(rsu_id)
        if view is None:
            continue
        for _, m in sorted(by_id.items()):
            out.append(_map_out(rsu_id, m, view.origin))
    return out


def _map_out(rsu_id: str, m: IntersectionMap, origin: GeodeticOrigin) -> IntersectionMapOut:
    def wgs84(points: Iterable[tuple[float, float]]) -> list[LatLon]:
        xy = np.array(list(points), dtype=np.float64).reshape(-1, 2)
        enu = np.column_stack([xy, np.zeros(len(xy))])
        return [(float(lat), float(lon)) for lat, lon, _ in enu_to_geodetic(enu, origin)]

    heads: dict[int, set[int]] = {}
    for c in m.connections:
        if c.signal_group is not None:
            heads.setdefault(c.from_lane, set()).add(c.signal_group)
    return IntersectionMapOut(
        intersection_id=m.intersection_id,
        rsu_id=rsu_id,
        revision=m.revision,
        reference=wgs84([m.reference_xy])[0],
        lanes=[
            LaneOut(
                lane_id=lane.lane_id,
                name=lane.name,
                kind=lane.kind.value,
                direction=lane.direction.value,
                approach=lane.approach,
                centre_line=wgs84(lane.centre_line),
                width_m=lane.width_m,
                manoeuvres=list(lane.manoeuvres.names()),
                speed_limit_mps=lane.speed_limit_mps,
            )
            for lane in m.lanes
        ],
        stop_lines=[
            StopLineOut(
                lane_id=s.lane_id,
                line=wgs84([s.start, s.end]),
                signal_groups=sorted(heads.get(s.lane_id, ())),
            )
            for s in m.stop_lines
        ],
        connections=[
            ConnectionOut(
                connection_id=c.connection_id,
                from_lane=c.from_lane,
                to_lane=c.to_lane,
                signal_group=c.signal_group,
                manoeuvre=list(c.manoeuvre.names()),
            )
            for c in m.connections
        ],
        signal_groups=[{"signal_group": g.signal_group, "name": g.name} for g in m.signal_groups],
        conflicts=[(a, b) for a, b in m.conflicts if a < b],
        crosswalks=[
            CrosswalkOut(
                crosswalk_id=w.crosswalk_id,
                name=w.name,
                centre_line=wgs84(w.centre_line),
                width_m=w.width_m,
                signal_group=w.signal_group,
            )
            for w in m.crosswalks
        ],
    )
