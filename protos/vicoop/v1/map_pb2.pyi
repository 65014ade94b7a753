from protos.vicoop.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LaneDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LANE_DIRECTION_UNSPECIFIED: _ClassVar[LaneDirection]
    LANE_DIRECTION_INGRESS: _ClassVar[LaneDirection]
    LANE_DIRECTION_EGRESS: _ClassVar[LaneDirection]

class LaneKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LANE_KIND_UNSPECIFIED: _ClassVar[LaneKind]
    LANE_KIND_VEHICLE: _ClassVar[LaneKind]
    LANE_KIND_BIKE: _ClassVar[LaneKind]
    LANE_KIND_SIDEWALK: _ClassVar[LaneKind]
    LANE_KIND_TRACKED: _ClassVar[LaneKind]
    LANE_KIND_BUS: _ClassVar[LaneKind]
LANE_DIRECTION_UNSPECIFIED: LaneDirection
LANE_DIRECTION_INGRESS: LaneDirection
LANE_DIRECTION_EGRESS: LaneDirection
LANE_KIND_UNSPECIFIED: LaneKind
LANE_KIND_VEHICLE: LaneKind
LANE_KIND_BIKE: LaneKind
LANE_KIND_SIDEWALK: LaneKind
LANE_KIND_TRACKED: LaneKind
LANE_KIND_BUS: LaneKind

class Lane(_message.Message):
    __slots__ = ("lane_id", "name", "kind", "direction", "approach", "centre_line", "width_m", "manoeuvres", "speed_limit_mps")
    LANE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    APPROACH_FIELD_NUMBER: _ClassVar[int]
    CENTRE_LINE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_M_FIELD_NUMBER: _ClassVar[int]
    MANOEUVRES_FIELD_NUMBER: _ClassVar[int]
    SPEED_LIMIT_MPS_FIELD_NUMBER: _ClassVar[int]
    lane_id: int
    name: str
    kind: LaneKind
    direction: LaneDirection
    approach: int
    centre_line: _containers.RepeatedCompositeFieldContainer[_common_pb2.Point2]
    width_m: float
    manoeuvres: int
    speed_limit_mps: float
    def __init__(self, lane_id: _Optional[int] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[LaneKind, str]] = ..., direction: _Optional[_Union[LaneDirection, str]] = ..., approach: _Optional[int] = ..., centre_line: _Optional[_Iterable[_Union[_common_pb2.Point2, _Mapping]]] = ..., width_m: _Optional[float] = ..., manoeuvres: _Optional[int] = ..., speed_limit_mps: _Optional[float] = ...) -> None: ...

class StopLine(_message.Message):
    __slots__ = ("lane_id", "start", "end")
    LANE_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    lane_id: int
    start: _common_pb2.Point2
    end: _common_pb2.Point2
    def __init__(self, lane_id: _Optional[int] = ..., start: _Optional[_Union[_common_pb2.Point2, _Mapping]] = ..., end: _Optional[_Union[_common_pb2.Point2, _Mapping]] = ...) -> None: ...

class Connection(_message.Message):
    __slots__ = ("connection_id", "from_lane", "to_lane", "signal_group", "manoeuvre")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_LANE_FIELD_NUMBER: _ClassVar[int]
    TO_LANE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_GROUP_FIELD_NUMBER: _ClassVar[int]
    MANOEUVRE_FIELD_NUMBER: _ClassVar[int]
    connection_id: int
    from_lane: int
    to_lane: int
    signal_group: int
    manoeuvre: int
    def __init__(self, connection_id: _Optional[int] = ..., from_lane: _Optional[int] = ..., to_lane: _Optional[int] = ..., signal_group: _Optional[int] = ..., manoeuvre: _Optional[int] = ...) -> None: ...

class SignalGroup(_message.Message):
    __slots__ = ("signal_group", "name")
    SIGNAL_GROUP_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    signal_group: int
    name: str
    def __init__(self, signal_group: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class SignalGroupConflict(_message.Message):
    __slots__ = ("first", "second")
    FIRST_FIELD_NUMBER: _ClassVar[int]
    SECOND_FIELD_NUMBER: _ClassVar[int]
    first: int
    second: int
    def __init__(self, first: _Optional[int] = ..., second: _Optional[int] = ...) -> None: ...

class Crosswalk(_message.Message):
    __slots__ = ("crosswalk_id", "name", "centre_line", "width_m", "signal_group", "crosses")
    CROSSWALK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CENTRE_LINE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_M_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_GROUP_FIELD_NUMBER: _ClassVar[int]
    CROSSES_FIELD_NUMBER: _ClassVar[int]
    crosswalk_id: int
    name: str
    centre_line: _containers.RepeatedCompositeFieldContainer[_common_pb2.Point2]
    width_m: float
    signal_group: int
    crosses: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, crosswalk_id: _Optional[int] = ..., name: _Optional[str] = ..., centre_line: _Optional[_Iterable[_Union[_common_pb2.Point2, _Mapping]]] = ..., width_m: _Optional[float] = ..., signal_group: _Optional[int] = ..., crosses: _Optional[_Iterable[int]] = ...) -> None: ...

class IntersectionMap(_message.Message):
    __slots__ = ("intersection_id", "revision", "reference", "lanes", "stop_lines", "connections", "signal_groups", "conflicts", "crosswalks")
    INTERSECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LANES_FIELD_NUMBER: _ClassVar[int]
    STOP_LINES_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_GROUPS_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    CROSSWALKS_FIELD_NUMBER: _ClassVar[int]
    intersection_id: str
    revision: int
    reference: _common_pb2.Point2
    lanes: _containers.RepeatedCompositeFieldContainer[Lane]
    stop_lines: _containers.RepeatedCompositeFieldContainer[StopLine]
    connections: _containers.RepeatedCompositeFieldContainer[Connection]
    signal_groups: _containers.RepeatedCompositeFieldContainer[SignalGroup]
    conflicts: _containers.RepeatedCompositeFieldContainer[SignalGroupConflict]
    crosswalks: _containers.RepeatedCompositeFieldContainer[Crosswalk]
    def __init__(self, intersection_id: _Optional[str] = ..., revision: _Optional[int] = ..., reference: _Optional[_Union[_common_pb2.Point2, _Mapping]] = ..., lanes: _Optional[_Iterable[_Union[Lane, _Mapping]]] = ..., stop_lines: _Optional[_Iterable[_Union[StopLine, _Mapping]]] = ..., connections: _Optional[_Iterable[_Union[Connection, _Mapping]]] = ..., signal_groups: _Optional[_Iterable[_Union[SignalGroup, _Mapping]]] = ..., conflicts: _Optional[_Iterable[_Union[SignalGroupConflict, _Mapping]]] = ..., crosswalks: _Optional[_Iterable[_Union[Crosswalk, _Mapping]]] = ...) -> None: ...
