from protos.vicoop.v1 import common_pb2 as _common_pb2
from protos.vicoop.v1 import map_pb2 as _map_pb2
from protos.vicoop.v1 import perception_pb2 as _perception_pb2
from protos.vicoop.v1 import spat_pb2 as _spat_pb2
from protos.vicoop.v1 import vehicle_pb2 as _vehicle_pb2
from protos.vicoop.v1 import zones_pb2 as _zones_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetSiteRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSiteResponse(_message.Message):
    __slots__ = ("rsu_id", "origin", "publish_rate_hz")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    origin: _common_pb2.GeodeticOrigin
    publish_rate_hz: float
    def __init__(self, rsu_id: _Optional[str] = ..., origin: _Optional[_Union[_common_pb2.GeodeticOrigin, _Mapping]] = ..., publish_rate_hz: _Optional[float] = ...) -> None: ...

class StreamPerceptionRequest(_message.Message):
    __slots__ = ("options",)
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    options: _perception_pb2.SubscriptionOptions
    def __init__(self, options: _Optional[_Union[_perception_pb2.SubscriptionOptions, _Mapping]] = ...) -> None: ...

class StreamPerceptionResponse(_message.Message):
    __slots__ = ("frame",)
    FRAME_FIELD_NUMBER: _ClassVar[int]
    frame: _perception_pb2.PerceptionFrame
    def __init__(self, frame: _Optional[_Union[_perception_pb2.PerceptionFrame, _Mapping]] = ...) -> None: ...

class StreamZonesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamZonesResponse(_message.Message):
    __slots__ = ("zones", "revision")
    ZONES_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    zones: _containers.RepeatedCompositeFieldContainer[_zones_pb2.Zone]
    revision: int
    def __init__(self, zones: _Optional[_Iterable[_Union[_zones_pb2.Zone, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class ReportVehicleStateRequest(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: _vehicle_pb2.VehicleReport
    def __init__(self, report: _Optional[_Union[_vehicle_pb2.VehicleReport, _Mapping]] = ...) -> None: ...

class ReportVehicleStateResponse(_message.Message):
    __slots__ = ("accepted", "rejected", "rejections")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: int
    rejections: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamSpatRequest(_message.Message):
    __slots__ = ("intersection_ids",)
    INTERSECTION_IDS_FIELD_NUMBER: _ClassVar[int]
    intersection_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, intersection_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamSpatResponse(_message.Message):
    __slots__ = ("rsu_id", "sequence", "intersections")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    INTERSECTIONS_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    sequence: int
    intersections: _containers.RepeatedCompositeFieldContainer[_spat_pb2.IntersectionSpat]
    def __init__(self, rsu_id: _Optional[str] = ..., sequence: _Optional[int] = ..., intersections: _Optional[_Iterable[_Union[_spat_pb2.IntersectionSpat, _Mapping]]] = ...) -> None: ...

class GetMapRequest(_message.Message):
    __slots__ = ("intersection_ids",)
    INTERSECTION_IDS_FIELD_NUMBER: _ClassVar[int]
    intersection_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, intersection_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetMapResponse(_message.Message):
    __slots__ = ("rsu_id", "intersections")
    RSU_ID_FIELD_NUMBER: _ClassVar[int]
    INTERSECTIONS_FIELD_NUMBER: _ClassVar[int]
    rsu_id: str
    intersections: _containers.RepeatedCompositeFieldContainer[_map_pb2.IntersectionMap]
    def __init__(self, rsu_id: _Optional[str] = ..., intersections: _Optional[_Iterable[_Union[_map_pb2.IntersectionMap, _Mapping]]] = ...) -> None: ...
