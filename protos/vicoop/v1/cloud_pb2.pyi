from protos.vicoop.v1 import common_pb2 as _common_pb2
from protos.vicoop.v1 import map_pb2 as _map_pb2
from protos.vicoop.v1 import perception_pb2 as _perception_pb2
from protos.vicoop.v1 import spat_pb2 as _spat_pb2
from protos.vicoop.v1 import vehicle_pb2 as _vehicle_pb2
from protos.vicoop.v1 import zones_pb2 as _zones_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RsuHealth(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RSU_HEALTH_UNSPECIFIED: _ClassVar[RsuHealth]
    RSU_HEALTH_OK: _ClassVar[RsuHealth]
    RSU_HEALTH_DEGRADED: _ClassVar[RsuHealth]
    RSU_HEALTH_OFFLINE: _ClassVar[RsuHealth]

class SignalColour(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNAL_COLOUR_UNSPECIFIED: _ClassVar[SignalColour]
    SIGNAL_COLOUR_RED: _ClassVar[SignalColour]
    SIGNAL_COLOUR_RED_AMBER: _ClassVar[SignalColour]
    SIGNAL_COLOUR_GREEN: _ClassVar[SignalColour]
    SIGNAL_COLOUR_AMBER: _ClassVar[SignalColour]
    SIGNAL_COLOUR_DARK: _ClassVar[SignalColour]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_ZONE_SPEEDING: _ClassVar[EventKind]
    EVENT_KIND_ZONE_CLOSED_ENTRY: _ClassVar[EventKind]
    EVENT_KIND_ZONE_CLASS_NOT_ALLOWED: _ClassVar[EventKind]
    EVENT_KIND_VEHICLE_REPORT_REJECTED: _ClassVar[EventKind]
    EVENT_KIND_SENSOR_HEALTH: _ClassVar[EventKind]
    EVENT_KIND_OTHER: _ClassVar[EventKind]
    EVENT_KIND_ZONE_PERMIT_NOT_ACCEPTED: _ClassVar[EventKind]
    EVENT_KIND_OUTBOX_OVERFLOW: _ClassVar[EventKind]
    EVENT_KIND_TASK_FAILED: _ClassVar[EventKind]
    EVENT_KIND_SIGNAL_COMMAND_REFUSED: _ClassVar[EventKind]

class AckStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACK_STATUS_UNSPECIFIED: _ClassVar[AckStatus]
    ACK_STATUS_APPLIED: _ClassVar[AckStatus]
    ACK_STATUS_ALREADY_APPLIED: _ClassVar[AckStatus]
    ACK_STATUS_REJECTED: _ClassVar[AckStatus]

class PhaseRequestKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PHASE_REQUEST_KIND_UNSPECIFIED: _ClassVar[PhaseRequestKind]
    PHASE_REQUEST_KIND_HOLD: _ClassVar[PhaseRequestKind]
    PHASE_REQUEST_KIND_FORCE_OFF: _ClassVar[PhaseRequestKind]
    PHASE_REQUEST_KIND_SKIP: _ClassVar[PhaseRequestKind]
RSU_HEALTH_UNSPECIFIED: RsuHealth
RSU_HEALTH_OK: RsuHealth
RSU_HEALTH_DEGRADED: RsuHealth
RSU_HEALTH_OFFLINE: RsuHealth
SIGNAL_COLOUR_UNSPECIFIED: SignalColour
SIGNAL_COLOUR_RED: SignalColour
SIGNAL_COLOUR_RED_AMBER: SignalColour
SIGNAL_COLOUR_GREEN: SignalColour
SIGNAL_COLOUR_AMBER: SignalColour
SIGNAL_COLOUR_DARK: SignalColour
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_ZONE_SPEEDING: EventKind
EVENT_KIND_ZONE_CLOSED_ENTRY: EventKind
EVENT_KIND_ZONE_CLASS_NOT_ALLOWED: EventKind
EVENT_KIND_VEHICLE_REPORT_REJECTED: EventKind
EVENT_KIND_SENSOR_HEALTH: EventKind
EVENT_KIND_OTHER: EventKind
EVENT_KIND_ZONE_PERMIT_NOT_ACCEPTED: EventKind
EVENT_KIND_OUTBOX_OVERFLOW: EventKind
EVENT_KIND_TASK_FAILED: EventKind
EVENT_KIND_SIGNAL_COMMAND_REFUSED: EventKind
ACK_STATUS_UNSPECIFIED: AckStatus
ACK_STATUS_APPLIED: AckStatus
ACK_STATUS_ALREADY_APPLIED: AckStatus
ACK_STATUS_REJECTED: AckStatus
PHASE_REQUEST_KIND_UNSPECIFIED: PhaseRequestKind
PHASE_REQUEST_KIND_HOLD: PhaseRequestKind
PHASE_REQUEST_KIND_FORCE_OFF: PhaseRequestKind
PHASE_REQUEST_KIND_SKIP: PhaseRequestKind

class Intersection(_message.Message):
    __slots__ = ("intersection_id", "center_m")
    INTERSECTION_ID_FIELD_NUMBER: _ClassVar[int]
    CENTER_M_FIELD_NUMBER: _ClassVar[int]
    intersection_id: str
    center_m: _common_pb2.Point2
    def __init__(self, intersection_id: _Optional[str] = ..., center_m: _Optional[_Union[_common_pb2.Point2, _Mapping]] = ...) -> None: ...

class RsuStatus(_message.Message):
    __slots__ = ("rsu_id", "health", "origin", "coverage_radius_m", "intersections", "sensors", "sent_at_ns", "outbox_pending", "zone_versions")
    class ZoneVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    INTERSECTIONS_FIELD_NUMBER: _ClassVar[int]
    SENSORS_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_NS_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_PENDING_FIELD_NUMBER: _ClassVar[int]
    ZONE_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    health: RsuHealth
    origin: _common_pb2.GeodeticOrigin
    coverage_radius_m: float
    intersections: _containers.RepeatedCompositeFieldContainer[Intersection]
    sensors: _containers.RepeatedCompositeFieldContainer[_perception_pb2.SensorStatus]
    sent_at_ns: int
    outbox_pending: int
    zone_versions: _containers.ScalarMap[str, int]
    def __init__(self, rsu_id: _Optional[str] = ..., health: _Optional[_Union[RsuHealth, str]] = ..., origin: _Optional[_Union[_common_pb2.GeodeticOrigin, _Mapping]] = ..., coverage_radius_m: _Optional[float] = ..., intersections: _Optional[_Iterable[_Union[Intersection, _Mapping]]] = ..., sensors: _Optional[_Iterable[_Union[_perception_pb2.SensorStatus, _Mapping]]] = ..., sent_at_ns: _Optional[int] = ..., outbox_pending: _Optional[int] = ..., zone_versions: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ApproachMeasure(_message.Message):
    __slots__ = ("intersection_id", "approach", "vehicle_count", "queue_length_m", "mean_speed_mps")
    INTERSECTION_ID_FIELD_NUMBER: _ClassVar[int]
    APPROACH_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUEUE_LENGTH_M_FIELD_NUMBER: _ClassVar[int]
    MEAN_SPEED_MPS_FIELD_NUMBER: _ClassVar[int]
    intersection_id: str
    approach: str
    vehicle_count: int
    queue_length_m: float
    mean_speed_mps: float
    def __init__(self, intersection_id: _Optional[str] = ..., approach: _Optional[str] = ..., vehicle_count: _Optional[int] = ..., queue_length_m: _Optional[float] = ..., mean_speed_mps: _Optional[float] = ...) -> None: ...

class PerceptionSummary(_message.Message):
    __slots__ = ("rsu_id", "sequence", "valid_at_ns", "published_at_ns", "origin", "objects", "measures")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    VALID_AT_NS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    sequence: int
    valid_at_ns: int
    published_at_ns: int
    origin: _common_pb2.GeodeticOrigin
    objects: _containers.RepeatedCompositeFieldContainer[_perception_pb2.DetectedObject]
    measures: _containers.RepeatedCompositeFieldContainer[ApproachMeasure]
    def __init__(self, rsu_id: _Optional[str] = ..., sequence: _Optional[int] = ..., valid_at_ns: _Optional[int] = ..., published_at_ns: _Optional[int] = ..., origin: _Optional[_Union[_common_pb2.GeodeticOrigin, _Mapping]] = ..., objects: _Optional[_Iterable[_Union[_perception_pb2.DetectedObject, _Mapping]]] = ..., measures: _Optional[_Iterable[_Union[ApproachMeasure, _Mapping]]] = ...) -> None: ...

class SignalGroupState(_message.Message):
    __slots__ = ("group_id", "approach", "colour", "next_change_ns")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    APPROACH_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    NEXT_CHANGE_NS_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    approach: str
    colour: SignalColour
    next_change_ns: int
    def __init__(self, group_id: _Optional[str] = ..., approach: _Optional[str] = ..., colour: _Optional[_Union[SignalColour, str]] = ..., next_change_ns: _Optional[int] = ...) -> None: ...

class SignalState(_message.Message):
    __slots__ = ("rsu_id", "intersection_id", "valid_at_ns", "groups")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    INTERSECTION_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_AT_NS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    intersection_id: str
    valid_at_ns: int
    groups: _containers.RepeatedCompositeFieldContainer[SignalGroupState]
    def __init__(self, rsu_id: _Optional[str] = ..., intersection_id: _Optional[str] = ..., valid_at_ns: _Optional[int] = ..., groups: _Optional[_Iterable[_Union[SignalGroupState, _Mapping]]] = ...) -> None: ...

class RsuSpat(_message.Message):
    __slots__ = ("rsu_id", "published_at_ns", "intersections")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    INTERSECTIONS_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    published_at_ns: int
    intersections: _containers.RepeatedCompositeFieldContainer[_spat_pb2.IntersectionSpat]
    def __init__(self, rsu_id: _Optional[str] = ..., published_at_ns: _Optional[int] = ..., intersections: _Optional[_Iterable[_Union[_spat_pb2.IntersectionSpat, _Mapping]]] = ...) -> None: ...

class RsuMap(_message.Message):
    __slots__ = ("rsu_id", "intersections")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    INTERSECTIONS_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    intersections: _containers.RepeatedCompositeFieldContainer[_map_pb2.IntersectionMap]
    def __init__(self, rsu_id: _Optional[str] = ..., intersections: _Optional[_Iterable[_Union[_map_pb2.IntersectionMap, _Mapping]]] = ...) -> None: ...

class VehicleReportBatch(_message.Message):
    __slots__ = ("rsu_id", "reports")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    reports: _containers.RepeatedCompositeFieldContainer[_vehicle_pb2.VehicleReport]
    def __init__(self, rsu_id: _Optional[str] = ..., reports: _Optional[_Iterable[_Union[_vehicle_pb2.VehicleReport, _Mapping]]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("kind", "occurred_at_ns", "zone_id", "vehicle_id", "track_id", "position_m", "value", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_M_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: EventKind
    occurred_at_ns: int
    zone_id: str
    vehicle_id: str
    track_id: int
    position_m: _common_pb2.Point2
    value: float
    detail: str
    def __init__(self, kind: _Optional[_Union[EventKind, str]] = ..., occurred_at_ns: _Optional[int] = ..., zone_id: _Optional[str] = ..., vehicle_id: _Optional[str] = ..., track_id: _Optional[int] = ..., position_m: _Optional[_Union[_common_pb2.Point2, _Mapping]] = ..., value: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...

class CommandAck(_message.Message):
    __slots__ = ("command_id", "version", "status", "detail", "acked_at_ns")
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ACKED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    command_id: str
    version: int
    status: AckStatus
    detail: str
    acked_at_ns: int
    def __init__(self, command_id: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[_Union[AckStatus, str]] = ..., detail: _Optional[str] = ..., acked_at_ns: _Optional[int] = ...) -> None: ...

class OutboxMessage(_message.Message):
    __slots__ = ("rsu_id", "sequence", "created_at_ns", "event", "ack")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    sequence: int
    created_at_ns: int
    event: Event
    ack: CommandAck
    def __init__(self, rsu_id: _Optional[str] = ..., sequence: _Optional[int] = ..., created_at_ns: _Optional[int] = ..., event: _Optional[_Union[Event, _Mapping]] = ..., ack: _Optional[_Union[CommandAck, _Mapping]] = ...) -> None: ...

class OutboxReceipt(_message.Message):
    __slots__ = ("sequences",)
    SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    sequences: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sequences: _Optional[_Iterable[int]] = ...) -> None: ...

class UpsertZone(_message.Message):
    __slots__ = ("zone",)
    ZONE_FIELD_NUMBER: _ClassVar[int]
    zone: _zones_pb2.Zone
    def __init__(self, zone: _Optional[_Union[_zones_pb2.Zone, _Mapping]] = ...) -> None: ...

class DeleteZone(_message.Message):
    __slots__ = ("zone_id", "version")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    zone_id: str
    version: int
    def __init__(self, zone_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class StageSplit(_message.Message):
    __slots__ = ("stage", "green_s")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    GREEN_S_FIELD_NUMBER: _ClassVar[int]
    stage: int
    green_s: float
    def __init__(self, stage: _Optional[int] = ..., green_s: _Optional[float] = ...) -> None: ...

class PhasePlan(_message.Message):
    __slots__ = ("cycle_s", "offset_s", "splits")
    CYCLE_S_FIELD_NUMBER: _ClassVar[int]
    OFFSET_S_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    cycle_s: float
    offset_s: float
    splits: _containers.RepeatedCompositeFieldContainer[StageSplit]
    def __init__(self, cycle_s: _Optional[float] = ..., offset_s: _Optional[float] = ..., splits: _Optional[_Iterable[_Union[StageSplit, _Mapping]]] = ...) -> None: ...

class PhaseRequest(_message.Message):
    __slots__ = ("kind", "stages")
    KIND_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    kind: PhaseRequestKind
    stages: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, kind: _Optional[_Union[PhaseRequestKind, str]] = ..., stages: _Optional[_Iterable[int]] = ...) -> None: ...

class SignalCommand(_message.Message):
    __slots__ = ("intersection_id", "plan_id", "start_ns", "end_ns", "plan", "request")
    INTERSECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    START_NS_FIELD_NUMBER: _ClassVar[int]
    END_NS_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    intersection_id: str
    plan_id: str
    start_ns: int
    end_ns: int
    plan: PhasePlan
    request: PhaseRequest
    def __init__(self, intersection_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., start_ns: _Optional[int] = ..., end_ns: _Optional[int] = ..., plan: _Optional[_Union[PhasePlan, _Mapping]] = ..., request: _Optional[_Union[PhaseRequest, _Mapping]] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ("command_id", "version", "issued_at_ns", "upsert_zone", "delete_zone", "signal_command")
    COMMAND_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    UPSERT_ZONE_FIELD_NUMBER: _ClassVar[int]
    DELETE_ZONE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_COMMAND_FIELD_NUMBER: _ClassVar[int]
    command_id: str
    version: int
    issued_at_ns: int
    upsert_zone: UpsertZone
    delete_zone: DeleteZone
    signal_command: SignalCommand
    def __init__(self, command_id: _Optional[str] = ..., version: _Optional[int] = ..., issued_at_ns: _Optional[int] = ..., upsert_zone: _Optional[_Union[UpsertZone, _Mapping]] = ..., delete_zone: _Optional[_Union[DeleteZone, _Mapping]] = ..., signal_command: _Optional[_Union[SignalCommand, _Mapping]] = ...) -> None: ...
