from protos.vicoop.v1 import common_pb2 as _common_pb2
from protos.vicoop.v1 import zones_pb2 as _zones_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VehicleReport(_message.Message):
    __slots__ = ("vehicle_id", "vehicle_class", "position", "speed_mps", "heading_rad", "size", "permit_id", "measured_at_ns")
    VEHICLE_ID_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_CLASS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SPEED_MPS_FIELD_NUMBER: _ClassVar[int]
    HEADING_RAD_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PERMIT_ID_FIELD_NUMBER: _ClassVar[int]
    MEASURED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    vehicle_id: str
    vehicle_class: _common_pb2.ObjectClass
    position: _zones_pb2.GeoPoint
    speed_mps: float
    heading_rad: float
    size: _common_pb2.ObjectSize
    permit_id: str
    measured_at_ns: int
    def __init__(self, vehicle_id: _Optional[str] = ..., vehicle_class: _Optional[_Union[_common_pb2.ObjectClass, str]] = ..., position: _Optional[_Union[_zones_pb2.GeoPoint, _Mapping]] = ..., speed_mps: _Optional[float] = ..., heading_rad: _Optional[float] = ..., size: _Optional[_Union[_common_pb2.ObjectSize, _Mapping]] = ..., permit_id: _Optional[str] = ..., measured_at_ns: _Optional[int] = ...) -> None: ...
