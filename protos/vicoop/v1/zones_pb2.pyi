from protos.vicoop.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GeoPoint(_message.Message):
    __slots__ = ("latitude_deg", "longitude_deg")
    LATITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_DEG_FIELD_NUMBER: _ClassVar[int]
    latitude_deg: float
    longitude_deg: float
    def __init__(self, latitude_deg: _Optional[float] = ..., longitude_deg: _Optional[float] = ...) -> None: ...

class TimeWindow(_message.Message):
    __slots__ = ("start_minute", "end_minute", "weekdays")
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    WEEKDAYS_FIELD_NUMBER: _ClassVar[int]
    start_minute: int
    end_minute: int
    weekdays: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ..., weekdays: _Optional[_Iterable[int]] = ...) -> None: ...

class ZoneRules(_message.Message):
    __slots__ = ("speed_limit_mps", "allowed_classes", "allowed_permit_ids", "closed", "closed_lanes", "time_windows", "min_headway_s")
    SPEED_LIMIT_MPS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_CLASSES_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PERMIT_IDS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_LANES_FIELD_NUMBER: _ClassVar[int]
    TIME_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    MIN_HEADWAY_S_FIELD_NUMBER: _ClassVar[int]
    speed_limit_mps: float
    allowed_classes: _containers.RepeatedScalarFieldContainer[_common_pb2.ObjectClass]
    allowed_permit_ids: _containers.RepeatedScalarFieldContainer[str]
    closed: bool
    closed_lanes: _containers.RepeatedScalarFieldContainer[str]
    time_windows: _containers.RepeatedCompositeFieldContainer[TimeWindow]
    min_headway_s: float
    def __init__(self, speed_limit_mps: _Optional[float] = ..., allowed_classes: _Optional[_Iterable[_Union[_common_pb2.ObjectClass, str]]] = ..., allowed_permit_ids: _Optional[_Iterable[str]] = ..., closed: _Optional[bool] = ..., closed_lanes: _Optional[_Iterable[str]] = ..., time_windows: _Optional[_Iterable[_Union[TimeWindow, _Mapping]]] = ..., min_headway_s: _Optional[float] = ...) -> None: ...

class Zone(_message.Message):
    __slots__ = ("zone_id", "version", "name", "polygon", "rules", "updated_at_ns")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLYGON_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    zone_id: str
    version: int
    name: str
    polygon: _containers.RepeatedCompositeFieldContainer[GeoPoint]
    rules: ZoneRules
    updated_at_ns: int
    def __init__(self, zone_id: _Optional[str] = ..., version: _Optional[int] = ..., name: _Optional[str] = ..., polygon: _Optional[_Iterable[_Union[GeoPoint, _Mapping]]] = ..., rules: _Optional[_Union[ZoneRules, _Mapping]] = ..., updated_at_ns: _Optional[int] = ...) -> None: ...
