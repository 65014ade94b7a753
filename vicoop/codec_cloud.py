"""Conversion between the cloud-link, zone and vehicle-report domain types and their protobuf
messages (``cloud.proto``, ``zones.proto``, ``vehicle.proto``).

Every ``decode_*`` takes the bytes off the wire and validates: malformed protobuf or a value out
of range raises ``CodecError`` naming the field and the value. Nothing else touches these ``pb2``
types.

Versions: every zone version and command version is in ``1..MAX_VERSION`` (an acknowledgement's
version may also be 0, "unknown"). ``MAX_VERSION`` is 2^53 - 1: exact as a JSON number in a
browser, and far enough below 2^63 - 1 that the next version (+1) never overflows a signed 64-bit
integer (SQLite's ``INTEGER``, PostgreSQL's ``BIGINT``) nor the wire's ``uint64``. Whoever
computes a next version uses ``next_version``, which refuses to go past the range. Ids (RSU, zone,
vehicle, intersection, command ids) are 1 to ``MAX_ID_CHARS`` characters of ``A-Z a-z 0-9 _ . :
-``.
"""

from __future__ import annotations

import enum
import math
import re
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from protos.vicoop.v1 import cloud_pb2, common_pb2, perception_pb2, vehicle_pb2, zones_pb2
from vicoop import codec, codec_map, codec_spat
from vicoop.cloudmodel import (
    AckStatus,
    ApproachMeasure,
    Command,
    CommandAck,
    DeleteZone,
    Event,
    EventKind,
    Intersection,
    OutboxMessage,
    PerceptionSummary,
    RsuHealth,
    RsuStatus,
    SignalColour,
    SignalGroupState,
    SignalState,
    UpsertZone,
    VehicleReport,
)
from vicoop.errors import CodecError
from vicoop.intersection import IntersectionMap
from vicoop.model import ObjectClass, SensorHealth, SensorKind, SensorStatus, Size3
from vicoop.signalplan import (
    PhasePlan,
    PhaseRequest,
    RequestKind,
    SignalCommand,
    SignalPlanError,
    StageSplit,
)
from vicoop.spat import Spat
from vicoop.zones import TimeWindow, Zone, ZoneRules

MAX_ID_CHARS = 64
MAX_TEXT_CHARS = 1000
MAX_OBJECTS = 10_000
MAX_VERSION = 2**53 - 1
_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")
E = TypeVar("E", bound=enum.IntEnum)


def _parse(message_type: type[Message], data: bytes, what: str) -> Message:
    try:
        return message_type.FromString(data)
    except (DecodeError, ValueError) as exc:  # ValueError: invalid UTF-8 in a string field
        raise CodecError(f"{what}: not a valid vicoop.v1.{message_type.__name__}: {exc}") from None


def _finite(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise CodecError(f"{name} must be a finite number, got {value}")
    return value


def _within(value: float, name: str, low: float, high: float) -> float:
    _finite(value, name)
    if not low <= value <= high:
        raise CodecError(f"{name} must be in [{low:g}, {high:g}], got {value:g}")
    return value


def _ident(value: str, name: str, *, required: bool = True) -> str:
    if not value:
        if required:
            raise CodecError(f"{name} is missing")
        return value
    if len(value) > MAX_ID_CHARS or not _ID.match(value):
        raise CodecError(
            f"{name} must be 1 to {MAX_ID_CHARS} of A-Z a-z 0-9 _ . : -, got {value[:80]!r}"
        )
    return value


def _text(value: str, name: str) -> str:
    if len(value) > MAX_TEXT_CHARS:
        raise CodecError(f"{name} must be at most {MAX_TEXT_CHARS} characters")
    return value


def _enum(enum_type: type[E], value: int, name: str) -> E:
    try:
        return enum_type(value)
    except ValueError:
        raise CodecError(f"{name}: unknown {enum_type.__name__} value {value}") from None


def _timestamp(value: int, name: str) -> int:
    if value < 0:
        raise CodecError(f"{name} must be >= 0, got {value}")
    return value


def _version(value: int, name: str, *, low: int = 1) -> int:
    if not low <= value <= MAX_VERSION:
        raise CodecError(f"{name} must be in {low}..{MAX_VERSION}, got {value}")
    return value


def next_version(version: int, what: str) -> int:
    """The version after ``version`` (0: none yet); ``ValueError`` naming ``what`` when that
    would leave ``1..MAX_VERSION``."""
    if not 0 <= version < MAX_VERSION:
        raise ValueError(f"{what} is at version {version}: there is no next one (1..{MAX_VERSION})")
    return version + 1


def command_id_of(data: bytes) -> str | None:
    """The id of the command in ``data`` when it has a valid one, even if the rest is
    malformed (so the RSU can say which command it refused and why)."""
    try:
        return _ident(cloud_pb2.Command.FromString(data).command_id, "command.command_id")
    except (DecodeError, ValueError, CodecError):
        return None


# ---------------------------------------------------------------------------------------------
# zones


def zone_to_proto(zone: Zone) -> zones_pb2.Zone:
    r = zone.rules
    return zones_pb2.Zone(
        zone_id=zone.zone_id,
        version=zone.version,
        name=zone.name,
        polygon=[
            zones_pb2.GeoPoint(latitude_deg=lat, longitude_deg=lon) for lon, lat in zone.polygon
        ],
        rules=zones_pb2.ZoneRules(
            speed_limit_mps=r.speed_limit_mps,
            allowed_classes=sorted(int(c) for c in r.allowed_classes),  # type: ignore[misc]
            allowed_permit_ids=sorted(r.allowed_permit_ids),
            closed=r.closed,
            closed_lanes=list(r.closed_lanes),
            time_windows=[
                zones_pb2.TimeWindow(
                    start_minute=w.start_minute,
                    end_minute=w.end_minute,
                    weekdays=sorted(w.weekdays),
                )
                for w in r.time_windows
            ],
            min_headway_s=r.min_headway_s,
        ),
        updated_at_ns=zone.updated_at_ns,
    )


def zone_from_proto(pb: zones_pb2.Zone, name: str = "zone") -> Zone:
    rules = pb.rules
    classes = set()
    for i, value in enumerate(rules.allowed_classes):
        cls = _enum(ObjectClass, value, f"{name}.rules.allowed_classes[{i}]")
        if cls is ObjectClass.UNSPECIFIED:
            raise CodecError(f"{name}.rules.allowed_classes[{i}]: OBJECT_CLASS_UNSPECIFIED")
        classes.add(cls)
    windows = []
    for i, w in enumerate(rules.time_windows):
        try:
            windows.append(TimeWindow(w.start_minute, w.end_minute, frozenset(w.weekdays)))
        except ValueError as exc:
            raise CodecError(f"{name}.rules.time_windows[{i}].{exc}") from None
    polygon = tuple(
        (
            _within(p.longitude_deg, f"{name}.polygon[{i}].longitude_deg", -180, 180),
            _within(p.latitude_deg, f"{name}.polygon[{i}].latitude_deg", -90, 90),
        )
        for i, p in enumerate(pb.polygon)
    )
    try:
        zone_rules = ZoneRules(
            speed_limit_mps=_within(
                rules.speed_limit_mps, f"{name}.rules.speed_limit_mps", 0.0, 200.0
            ),
            allowed_classes=frozenset(classes),
            allowed_permit_ids=frozenset(
                _ident(p, f"{name}.rules.allowed_permit_ids[{i}]")
                for i, p in enumerate(rules.allowed_permit_ids)
            ),
            closed=rules.closed,
            closed_lanes=tuple(
                _ident(p, f"{name}.rules.closed_lanes[{i}]")
                for i, p in enumerate(rules.closed_lanes)
            ),
            time_windows=tuple(windows),
            min_headway_s=_within(rules.min_headway_s, f"{name}.rules.min_headway_s", 0.0, 60.0),
        )
        return Zone(
            zone_id=_ident(pb.zone_id, f"{name}.zone_id"),
            version=_version(pb.version, f"{name}.version"),
            name=_text(pb.name, f"{name}.name"),
            polygon=polygon,
            rules=zone_rules,
            updated_at_ns=_timestamp(pb.updated_at_ns, f"{name}.updated_at_ns"),
        )
    except ValueError as exc:
        raise CodecError(f"{name}.{exc}") from None


# ---------------------------------------------------------------------------------------------
# vehicle reports


def report_to_proto(report: VehicleReport) -> vehicle_pb2.VehicleReport:
    return vehicle_pb2.VehicleReport(
        vehicle_id=report.vehicle_id,
        vehicle_class=int(report.vehicle_class),  # type: ignore[arg-type]
        position=zones_pb2.GeoPoint(
            latitude_deg=report.latitude_deg, longitude_deg=report.longitude_deg
        ),
        speed_mps=report.speed_mps,
        heading_rad=report.heading_rad,
        size=common_pb2.ObjectSize(
            length_m=report.size.length_m,
            width_m=report.size.width_m,
            height_m=report.size.height_m,
        ),
        permit_id=report.permit_id,
        measured_at_ns=report.measured_at_ns,
    )


def report_from_proto(pb: vehicle_pb2.VehicleReport, name: str = "report") -> VehicleReport:
    if not pb.HasField("position"):
        raise CodecError(f"{name}.position is missing")
    cls = _enum(ObjectClass, pb.vehicle_class, f"{name}.vehicle_class")
    return VehicleReport(
        vehicle_id=_ident(pb.vehicle_id, f"{name}.vehicle_id"),
        vehicle_class=cls,
        latitude_deg=_within(pb.position.latitude_deg, f"{name}.position.latitude_deg", -90, 90),
        longitude_deg=_within(
            pb.position.longitude_deg, f"{name}.position.longitude_deg", -180, 180
        ),
        speed_mps=_within(pb.speed_mps, f"{name}.speed_mps", 0.0, 1e4),
        heading_rad=_within(pb.heading_rad, f"{name}.heading_rad", -2 * math.pi, 2 * math.pi),
        size=Size3(
            _within(pb.size.length_m, f"{name}.size.length_m", 0.0, 100.0),
            _within(pb.size.width_m, f"{name}.size.width_m", 0.0, 20.0),
            _within(pb.size.height_m, f"{name}.size.height_m", 0.0, 20.0),
        ),
        measured_at_ns=_timestamp(pb.measured_at_ns, f"{name}.measured_at_ns"),
        permit_id=_ident(pb.permit_id, f"{name}.permit_id", required=False),
    )


# ---------------------------------------------------------------------------------------------
# link payloads: encoding


def _sensor_from_proto(pb: perception_pb2.SensorStatus, name: str) -> SensorStatus:
    return SensorStatus(
        sensor_id=_text(pb.sensor_id, f"{name}.sensor_id"),
        kind=_enum(SensorKind, pb.kind, f"{name}.kind"),
        health=_enum(SensorHealth, pb.health, f"{name}.health"),
        last_measurement_ns=pb.last_measurement_ns,
        reason=_text(pb.reason, f"{name}.reason"),
    )


def encode_status(status: RsuStatus) -> bytes:
    return cloud_pb2.RsuStatus(
        rsu_id=status.rsu_id,
        health=int(status.health),  # type: ignore[arg-type]
        origin=codec.origin_to_proto(status.origin),
        coverage_radius_m=status.coverage_radius_m,
        intersections=[
            cloud_pb2.Intersection(
                intersection_id=i.intersection_id,
                center_m=common_pb2.Point2(x_m=i.center_x_m, y_m=i.center_y_m),
            )
            for i in status.intersections
        ],
        sensors=[codec.sensor_to_proto(s) for s in status.sensors],
        sent_at_ns=status.sent_at_ns,
        outbox_pending=status.outbox_pending,
        zone_versions=dict(status.zone_versions),
    ).SerializeToString()


def decode_status(data: bytes) -> RsuStatus:
    pb = _parse(cloud_pb2.RsuStatus, data, "status")
    assert isinstance(pb, cloud_pb2.RsuStatus)
    if not pb.HasField("origin"):
        raise CodecError("status.origin is missing")
    return RsuStatus(
        rsu_id=_ident(pb.rsu_id, "status.rsu_id"),
        health=_enum(RsuHealth, pb.health, "status.health"),
        origin=codec.origin_from_proto(pb.origin, "status.origin"),
        coverage_radius_m=_within(pb.coverage_radius_m, "status.coverage_radius_m", 0.0, 1e4),
        intersections=tuple(
            Intersection(
                _ident(i.intersection_id, f"status.intersections[{n}].intersection_id"),
                _within(i.center_m.x_m, f"status.intersections[{n}].center_m.x_m", -1e4, 1e4),
                _within(i.center_m.y_m, f"status.intersections[{n}].center_m.y_m", -1e4, 1e4),
            )
            for n, i in enumerate(pb.intersections)
        ),
        sensors=tuple(
            _sensor_from_proto(s, f"status.sensors[{n}]") for n, s in enumerate(pb.sensors)
        ),
        sent_at_ns=_timestamp(pb.sent_at_ns, "status.sent_at_ns"),
        outbox_pending=pb.outbox_pending,
        zone_versions={
            _ident(k, "status.zone_versions key"): _version(v, f"status.zone_versions[{k!r}]")
            for k, v in pb.zone_versions.items()
        },
    )


def encode_summary(summary: PerceptionSummary) -> bytes:
    return cloud_pb2.PerceptionSummary(
        rsu_id=summary.rsu_id,
        sequence=summary.sequence,
        valid_at_ns=summary.valid_at_ns,
        published_at_ns=summary.published_at_ns,
        origin=codec.origin_to_proto(summary.origin),
        objects=[codec.object_to_proto(o) for o in summary.objects],
        measures=[
            cloud_pb2.ApproachMeasure(
                intersection_id=m.intersection_id,
                approach=m.approach,
                vehicle_count=m.vehicle_count,
                queue_length_m=m.queue_length_m,
                mean_speed_mps=m.mean_speed_mps,
            )
            for m in summary.measures
        ],
    ).SerializeToString()


def decode_summary(data: bytes) -> PerceptionSummary:
    pb = _parse(cloud_pb2.PerceptionSummary, data, "perception")
    assert isinstance(pb, cloud_pb2.PerceptionSummary)
    if not pb.HasField("origin"):
        raise CodecError("perception.origin is missing")
    if len(pb.objects) > MAX_OBJECTS:
        raise CodecError(f"perception.objects: more than {MAX_OBJECTS}")
    return PerceptionSummary(
        rsu_id=_ident(pb.rsu_id, "perception.rsu_id"),
        sequence=pb.sequence,
        valid_at_ns=_timestamp(pb.valid_at_ns, "perception.valid_at_ns"),
        published_at_ns=_timestamp(pb.published_at_ns, "perception.published_at_ns"),
        origin=codec.origin_from_proto(pb.origin, "perception.origin"),
        objects=tuple(
            codec.object_from_proto(o, f"perception.objects[{i}]") for i, o in enumerate(pb.objects)
        ),
        measures=tuple(
            ApproachMeasure(
                intersection_id=_ident(
                    m.intersection_id, f"perception.measures[{i}].intersection_id"
                ),
                approach=_ident(m.approach, f"perception.measures[{i}].approach"),
                vehicle_count=m.vehicle_count,
                queue_length_m=_within(
                    m.queue_length_m, f"perception.measures[{i}].queue_length_m", 0.0, 1e4
                ),
                mean_speed_mps=_within(
                    m.mean_speed_mps, f"perception.measures[{i}].mean_speed_mps", 0.0, 200.0
                ),
            )
            for i, m in enumerate(pb.measures)
        ),
    )


def encode_signal(state: SignalState) -> bytes:
    return cloud_pb2.SignalState(
        rsu_id=state.rsu_id,
        intersection_id=state.intersection_id,
        valid_at_ns=state.valid_at_ns,
        groups=[
            cloud_pb2.SignalGroupState(
                group_id=g.group_id,
                approach=g.approach,
                colour=int(g.colour),  # type: ignore[arg-type]
                next_change_ns=g.next_change_ns,
            )
            for g in state.groups
        ],
    ).SerializeToString()


def decode_signal(data: bytes) -> SignalState:
    pb = _parse(cloud_pb2.SignalState, data, "signal")
    assert isinstance(pb, cloud_pb2.SignalState)
    return SignalState(
        rsu_id=_ident(pb.rsu_id, "signal.rsu_id"),
        intersection_id=_ident(pb.intersection_id, "signal.intersection_id"),
        valid_at_ns=_timestamp(pb.valid_at_ns, "signal.valid_at_ns"),
        groups=tuple(
            SignalGroupState(
                group_id=_ident(g.group_id, f"signal.groups[{i}].group_id"),
                approach=_ident(g.approach, f"signal.groups[{i}].approach", required=False),
                colour=_enum(SignalColour, g.colour, f"signal.groups[{i}].colour"),
                next_change_ns=_timestamp(g.next_change_ns, f"signal.groups[{i}].next_change_ns"),
            )
            for i, g in enumerate(pb.groups)
        ),
    )


def encode_reports(rsu_id: str, reports: list[VehicleReport]) -> bytes:
    return cloud_pb2.VehicleReportBatch(
        rsu_id=rsu_id, reports=[report_to_proto(r) for r in reports]
    ).SerializeToString()


def decode_reports(data: bytes) -> tuple[str, list[VehicleReport]]:
    pb = _parse(cloud_pb2.VehicleReportBatch, data, "vehicles")
    assert isinstance(pb, cloud_pb2.VehicleReportBatch)
    return _ident(pb.rsu_id, "vehicles.rsu_id"), [
        report_from_proto(r, f"vehicles.reports[{i}]") for i, r in enumerate(pb.reports)
    ]


MAX_INTERSECTIONS = 64  # per RSU, in one spat or map message


def encode_rsu_spat(rsu_id: str, published_at_ns: int, spats: list[Spat]) -> bytes:
    return cloud_pb2.RsuSpat(
        rsu_id=rsu_id,
        published_at_ns=published_at_ns,
        intersections=[codec_spat.spat_to_proto(s) for s in spats],
    ).SerializeToString()


def _unique_intersections(ids: list[str], what: str) -> None:
    if len(ids) > MAX_INTERSECTIONS:
        raise CodecError(f"{what}.intersections: at most {MAX_INTERSECTIONS}, got {len(ids)}")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CodecError(f"{what}.intersections: {twice[0]!r} appears twice")


def decode_rsu_spat(data: bytes) -> tuple[str, int, list[Spat]]:
    """(rsu_id, published_at_ns, each intersection's SPaT)."""
    pb = _parse(cloud_pb2.RsuSpat, data, "spat")
    assert isinstance(pb, cloud_pb2.RsuSpat)
    _unique_intersections([i.intersection_id for i in pb.intersections], "spat")
    spats = [
        codec_spat.spat_from_proto(s, f"spat.intersections[{i}]")
        for i, s in enumerate(pb.intersections)
    ]
    return (
        _ident(pb.rsu_id, "spat.rsu_id"),
        _timestamp(pb.published_at_ns, "spat.published_at_ns"),
        spats,
    )


def encode_rsu_map(rsu_id: str, maps: list[IntersectionMap]) -> bytes:
    return cloud_pb2.RsuMap(
        rsu_id=rsu_id, intersections=[codec_map.map_to_proto(m) for m in maps]
    ).SerializeToString()


def decode_rsu_map(data: bytes) -> tuple[str, list[IntersectionMap]]:
    """(rsu_id, each intersection's MAP)."""
    pb = _parse(cloud_pb2.RsuMap, data, "map")
    assert isinstance(pb, cloud_pb2.RsuMap)
    _unique_intersections([i.intersection_id for i in pb.intersections], "map")
    maps = [
        codec_map.map_from_proto(m, f"map.intersections[{i}]")
        for i, m in enumerate(pb.intersections)
    ]
    return _ident(pb.rsu_id, "map.rsu_id"), maps


def _event_to_proto(event: Event) -> cloud_pb2.Event:
    return cloud_pb2.Event(
        kind=int(event.kind),  # type: ignore[arg-type]
        occurred_at_ns=event.occurred_at_ns,
        zone_id=event.zone_id,
        vehicle_id=event.vehicle_id,
        track_id=event.track_id,
        position_m=common_pb2.Point2(x_m=event.x_m, y_m=event.y_m),
        value=event.value,
        detail=event.detail,
    )


def _event_from_proto(pb: cloud_pb2.Event, name: str) -> Event:
    kind = _enum(EventKind, pb.kind, f"{name}.kind")
    if kind is EventKind.UNSPECIFIED:
        raise CodecError(f"{name}.kind is missing")
    return Event(
        kind=kind,
        occurred_at_ns=_timestamp(pb.occurred_at_ns, f"{name}.occurred_at_ns"),
        zone_id=_ident(pb.zone_id, f"{name}.zone_id", required=False),
        vehicle_id=_ident(pb.vehicle_id, f"{name}.vehicle_id", required=False),
        track_id=pb.track_id,
        x_m=_finite(pb.position_m.x_m, f"{name}.position_m.x_m"),
        y_m=_finite(pb.position_m.y_m, f"{name}.position_m.y_m"),
        value=_finite(pb.value, f"{name}.value"),
        detail=_text(pb.detail, f"{name}.detail"),
    )


def encode_outbox(message: OutboxMessage) -> bytes:
    pb = cloud_pb2.OutboxMessage(
        rsu_id=message.rsu_id, sequence=message.sequence, created_at_ns=message.created_at_ns
    )
    body = message.body
    if isinstance(body, Event):
        pb.event.CopyFrom(_event_to_proto(body))
    else:
        pb.ack.CopyFrom(
            cloud_pb2.CommandAck(
                command_id=body.command_id,
                version=body.version,
                status=int(body.status),  # type: ignore[arg-type]
                detail=body.detail,
                acked_at_ns=body.acked_at_ns,
            )
        )
    return pb.SerializeToString()


def decode_outbox(data: bytes) -> OutboxMessage:
    pb = _parse(cloud_pb2.OutboxMessage, data, "outbox")
    assert isinstance(pb, cloud_pb2.OutboxMessage)
    if pb.sequence == 0:
        raise CodecError("outbox.sequence is missing")
    which = pb.WhichOneof("body")
    body: Event | CommandAck
    if which == "event":
        body = _event_from_proto(pb.event, "outbox.event")
    elif which == "ack":
        status = _enum(AckStatus, pb.ack.status, "outbox.ack.status")
        if status is AckStatus.UNSPECIFIED:
            raise CodecError("outbox.ack.status is missing")
        body = CommandAck(
            command_id=_ident(pb.ack.command_id, "outbox.ack.command_id"),
            version=_version(pb.ack.version, "outbox.ack.version", low=0),
            status=status,
            detail=_text(pb.ack.detail, "outbox.ack.detail"),
            acked_at_ns=_timestamp(pb.ack.acked_at_ns, "outbox.ack.acked_at_ns"),
        )
    else:
        raise CodecError("outbox.body is missing (neither event nor ack)")
    return OutboxMessage(
        rsu_id=_ident(pb.rsu_id, "outbox.rsu_id"),
        sequence=pb.sequence,
        created_at_ns=_timestamp(pb.created_at_ns, "outbox.created_at_ns"),
        body=body,
    )


def encode_receipt(sequences: list[int]) -> bytes:
    return cloud_pb2.OutboxReceipt(sequences=sequences).SerializeToString()


def decode_receipt(data: bytes) -> list[int]:
    pb = _parse(cloud_pb2.OutboxReceipt, data, "receipt")
    assert isinstance(pb, cloud_pb2.OutboxReceipt)
    return list(pb.sequences)


MAX_STAGES = 64  # stages a signal plan or request may name
_PLAN_ID = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")
MAX_STAGE_INDEX = 1023  # a program's stage index (SUMO phase index, NTCIP phase)


def signal_command_to_proto(command: SignalCommand) -> cloud_pb2.SignalCommand:
    pb = cloud_pb2.SignalCommand(
        intersection_id=command.intersection_id,
        plan_id=command.plan_id,
        start_ns=command.start_ns,
        end_ns=command.end_ns,
    )
    action = command.action
    if isinstance(action, PhasePlan):
        pb.plan.cycle_s = action.cycle_s
        pb.plan.offset_s = action.offset_s
        pb.plan.splits.extend(
            cloud_pb2.StageSplit(stage=s.stage, green_s=s.green_s) for s in action.splits
        )
    else:
        pb.request.kind = int(action.kind)  # type: ignore[assignment]
        pb.request.stages.extend(action.stages)
    return pb


def _stages(values: list[int], name: str) -> tuple[int, ...]:
    if len(values) > MAX_STAGES:
        raise CodecError(f"{name}: at most {MAX_STAGES} stages, got {len(values)}")
    for i, v in enumerate(values):
        if v > MAX_STAGE_INDEX:
            raise CodecError(f"{name}[{i}] must be in 0..{MAX_STAGE_INDEX}, got {v}")
    return tuple(values)


def signal_command_from_proto(
    pb: cloud_pb2.SignalCommand, name: str = "signal_command"
) -> SignalCommand:
    """The kernel's ``SignalCommand``; ``CodecError`` naming the field when malformed (the
    kernel's own checks included: a zero green, a window that ends before it starts...)."""
    iid = _ident(pb.intersection_id, f"{name}.intersection_id")
    if not _PLAN_ID.match(pb.plan_id):
        raise CodecError(
            f"{name}.plan_id must be 1 to 128 of A-Z a-z 0-9 _ . : / -, got {pb.plan_id[:80]!r}"
        )
    plan_id = pb.plan_id
    start = _timestamp(pb.start_ns, f"{name}.start_ns")
    end = _timestamp(pb.end_ns, f"{name}.end_ns")
    which = pb.WhichOneof("action")
    action: PhasePlan | PhaseRequest
    where = name
    try:
        if which == "plan":
            where = f"{name}.plan"
            stages = _stages([s.stage for s in pb.plan.splits], f"{where}.splits.stage")
            splits = tuple(
                StageSplit(stage, _finite(s.green_s, f"{where}.splits[{i}].green_s"))
                for i, (stage, s) in enumerate(zip(stages, pb.plan.splits, strict=True))
            )
            action = PhasePlan(
                _finite(pb.plan.cycle_s, f"{where}.cycle_s"),
                _finite(pb.plan.offset_s, f"{where}.offset_s"),
                splits,
            )
        elif which == "request":
            where = f"{name}.request"
            if pb.request.kind == 0:
                raise CodecError(f"{where}.kind is missing")
            kind = _enum(RequestKind, pb.request.kind, f"{where}.kind")
            action = PhaseRequest(kind, _stages(list(pb.request.stages), f"{where}.stages"))
        else:
            raise CodecError(f"{name}.action is missing")
        where = name
        return SignalCommand(iid, plan_id, start, end, action)
    except SignalPlanError as exc:
        raise CodecError(f"{where}.{exc}") from None


def encode_command(command: Command) -> bytes:
    pb = cloud_pb2.Command(
        command_id=command.command_id, version=command.version, issued_at_ns=command.issued_at_ns
    )
    body = command.body
    if isinstance(body, UpsertZone):
        pb.upsert_zone.zone.CopyFrom(zone_to_proto(body.zone))
    elif isinstance(body, SignalCommand):
        pb.signal_command.CopyFrom(signal_command_to_proto(body))
    else:
        pb.delete_zone.zone_id = body.zone_id
        pb.delete_zone.version = body.version
    return pb.SerializeToString()


def decode_command(data: bytes) -> Command:
    pb = _parse(cloud_pb2.Command, data, "command")
    assert isinstance(pb, cloud_pb2.Command)
    version = _version(pb.version, "command.version")
    which = pb.WhichOneof("body")
    body: UpsertZone | DeleteZone | SignalCommand
    if which == "upsert_zone":
        body = UpsertZone(zone_from_proto(pb.upsert_zone.zone, "command.upsert_zone.zone"))
    elif which == "delete_zone":
        body = DeleteZone(
            _ident(pb.delete_zone.zone_id, "command.delete_zone.zone_id"),
            _version(pb.delete_zone.version, "command.delete_zone.version"),
        )
    elif which == "signal_command":
        body = signal_command_from_proto(pb.signal_command, "command.signal_command")
    else:
        raise CodecError("command.body is missing")
    return Command(
        command_id=_ident(pb.command_id, "command.command_id"),
        version=version,
        issued_at_ns=_timestamp(pb.issued_at_ns, "command.issued_at_ns"),
        body=body,
    )
