from protos.vicoop.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SensorHealth(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENSOR_HEALTH_UNSPECIFIED: _ClassVar[SensorHealth]
    SENSOR_HEALTH_OK: _ClassVar[SensorHealth]
    SENSOR_HEALTH_DEGRADED: _ClassVar[SensorHealth]
    SENSOR_HEALTH_SILENT: _ClassVar[SensorHealth]
SENSOR_HEALTH_UNSPECIFIED: SensorHealth
SENSOR_HEALTH_OK: SensorHealth
SENSOR_HEALTH_DEGRADED: SensorHealth
SENSOR_HEALTH_SILENT: SensorHealth

class DetectedObject(_message.Message):
    __slots__ = ("track_id", "object_class", "class_confidence", "position_m", "velocity_mps", "heading_rad", "size", "position_covariance_m2", "existence_probability", "sensor_ids", "valid_at_ns", "vehicle_id")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_CLASS_FIELD_NUMBER: _ClassVar[int]
    CLASS_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    POSITION_M_FIELD_NUMBER: _ClassVar[int]
    VELOCITY_MPS_FIELD_NUMBER: _ClassVar[int]
    HEADING_RAD_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    POSITION_COVARIANCE_M2_FIELD_NUMBER: _ClassVar[int]
    EXISTENCE_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    SENSOR_IDS_FIELD_NUMBER: _ClassVar[int]
    VALID_AT_NS_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    track_id: int
    object_class: _common_pb2.ObjectClass
    class_confidence: float
    position_m: _common_pb2.Vector3
    velocity_mps: _common_pb2.Vector3
    heading_rad: float
    size: _common_pb2.ObjectSize
    position_covariance_m2: _common_pb2.Covariance3
    existence_probability: float
    sensor_ids: _containers.RepeatedScalarFieldContainer[str]
    valid_at_ns: int
    vehicle_id: str
    def __init__(self, track_id: _Optional[int] = ..., object_class: _Optional[_Union[_common_pb2.ObjectClass, str]] = ..., class_confidence: _Optional[float] = ..., position_m: _Optional[_Union[_common_pb2.Vector3, _Mapping]] = ..., velocity_mps: _Optional[_Union[_common_pb2.Vector3, _Mapping]] = ..., heading_rad: _Optional[float] = ..., size: _Optional[_Union[_common_pb2.ObjectSize, _Mapping]] = ..., position_covariance_m2: _Optional[_Union[_common_pb2.Covariance3, _Mapping]] = ..., existence_probability: _Optional[float] = ..., sensor_ids: _Optional[_Iterable[str]] = ..., valid_at_ns: _Optional[int] = ..., vehicle_id: _Optional[str] = ...) -> None: ...

class SensorStatus(_message.Message):
    __slots__ = ("sensor_id", "kind", "health", "last_measurement_ns", "reason")
    SENSOR_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    LAST_MEASUREMENT_NS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    sensor_id: str
    kind: _common_pb2.SensorKind
    health: SensorHealth
    last_measurement_ns: int
    reason: str
    def __init__(self, sensor_id: _Optional[str] = ..., kind: _Optional[_Union[_common_pb2.SensorKind, str]] = ..., health: _Optional[_Union[SensorHealth, str]] = ..., last_measurement_ns: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class PerceptionFrame(_message.Message):
    __slots__ = ("rsu_id", "sequence", "valid_at_ns", "published_at_ns", "origin", "objects", "sensors", "objects_before_filter")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    VALID_AT_NS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    SENSORS_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_BEFORE_FILTER_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    sequence: int
    valid_at_ns: int
    published_at_ns: int
    origin: _common_pb2.GeodeticOrigin
    objects: _containers.RepeatedCompositeFieldContainer[DetectedObject]
    sensors: _containers.RepeatedCompositeFieldContainer[SensorStatus]
    objects_before_filter: int
    def __init__(self, rsu_id: _Optional[str] = ..., sequence: _Optional[int] = ..., valid_at_ns: _Optional[int] = ..., published_at_ns: _Optional[int] = ..., origin: _Optional[_Union[_common_pb2.GeodeticOrigin, _Mapping]] = ..., objects: _Optional[_Iterable[_Union[DetectedObject, _Mapping]]] = ..., sensors: _Optional[_Iterable[_Union[SensorStatus, _Mapping]]] = ..., objects_before_filter: _Optional[int] = ...) -> None: ...

class Circle(_message.Message):
    __slots__ = ("center", "radius_m")
    CENTER_FIELD_NUMBER: _ClassVar[int]
    RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    center: _common_pb2.Point2
    radius_m: float
    def __init__(self, center: _Optional[_Union[_common_pb2.Point2, _Mapping]] = ..., radius_m: _Optional[float] = ...) -> None: ...

class Polygon(_message.Message):
    __slots__ = ("vertices",)
    VERTICES_FIELD_NUMBER: _ClassVar[int]
    vertices: _containers.RepeatedCompositeFieldContainer[_common_pb2.Point2]
    def __init__(self, vertices: _Optional[_Iterable[_Union[_common_pb2.Point2, _Mapping]]] = ...) -> None: ...

class RegionOfInterest(_message.Message):
    __slots__ = ("polygon", "circle")
    POLYGON_FIELD_NUMBER: _ClassVar[int]
    CIRCLE_FIELD_NUMBER: _ClassVar[int]
    polygon: Polygon
    circle: Circle
    def __init__(self, polygon: _Optional[_Union[Polygon, _Mapping]] = ..., circle: _Optional[_Union[Circle, _Mapping]] = ...) -> None: ...

class SubscriptionOptions(_message.Message):
    __slots__ = ("region", "classes", "max_rate_hz", "client_id")
    REGION_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    MAX_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    region: RegionOfInterest
    classes: _containers.RepeatedScalarFieldContainer[_common_pb2.ObjectClass]
    max_rate_hz: float
    client_id: str
    def __init__(self, region: _Optional[_Union[RegionOfInterest, _Mapping]] = ..., classes: _Optional[_Iterable[_Union[_common_pb2.ObjectClass, str]]] = ..., max_rate_hz: _Optional[float] = ..., client_id: _Optional[str] = ...) -> None: ...
