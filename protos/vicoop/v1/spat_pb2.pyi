from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MovementPhaseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MOVEMENT_PHASE_STATE_UNSPECIFIED: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_DARK: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_STOP_THEN_PROCEED: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_STOP_AND_REMAIN: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_PRE_MOVEMENT: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_PERMISSIVE_MOVEMENT_ALLOWED: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_PROTECTED_MOVEMENT_ALLOWED: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_PERMISSIVE_CLEARANCE: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_PROTECTED_CLEARANCE: _ClassVar[MovementPhaseState]
    MOVEMENT_PHASE_STATE_CAUTION_CONFLICTING_TRAFFIC: _ClassVar[MovementPhaseState]

class ControlMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTROL_MODE_UNSPECIFIED: _ClassVar[ControlMode]
    CONTROL_MODE_FIXED_TIME: _ClassVar[ControlMode]
    CONTROL_MODE_ACTUATED: _ClassVar[ControlMode]
    CONTROL_MODE_COORDINATED: _ClassVar[ControlMode]
    CONTROL_MODE_MANUAL: _ClassVar[ControlMode]
    CONTROL_MODE_FAILURE_FLASH: _ClassVar[ControlMode]
    CONTROL_MODE_DARK: _ClassVar[ControlMode]
MOVEMENT_PHASE_STATE_UNSPECIFIED: MovementPhaseState
MOVEMENT_PHASE_STATE_DARK: MovementPhaseState
MOVEMENT_PHASE_STATE_STOP_THEN_PROCEED: MovementPhaseState
MOVEMENT_PHASE_STATE_STOP_AND_REMAIN: MovementPhaseState
MOVEMENT_PHASE_STATE_PRE_MOVEMENT: MovementPhaseState
MOVEMENT_PHASE_STATE_PERMISSIVE_MOVEMENT_ALLOWED: MovementPhaseState
MOVEMENT_PHASE_STATE_PROTECTED_MOVEMENT_ALLOWED: MovementPhaseState
MOVEMENT_PHASE_STATE_PERMISSIVE_CLEARANCE: MovementPhaseState
MOVEMENT_PHASE_STATE_PROTECTED_CLEARANCE: MovementPhaseState
MOVEMENT_PHASE_STATE_CAUTION_CONFLICTING_TRAFFIC: MovementPhaseState
CONTROL_MODE_UNSPECIFIED: ControlMode
CONTROL_MODE_FIXED_TIME: ControlMode
CONTROL_MODE_ACTUATED: ControlMode
CONTROL_MODE_COORDINATED: ControlMode
CONTROL_MODE_MANUAL: ControlMode
CONTROL_MODE_FAILURE_FLASH: ControlMode
CONTROL_MODE_DARK: ControlMode

class MovementEvent(_message.Message):
    __slots__ = ("signal_group", "state", "min_end_ns", "max_end_ns", "likely_end_ns", "confidence")
    SIGNAL_GROUP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MIN_END_NS_FIELD_NUMBER: _ClassVar[int]
    MAX_END_NS_FIELD_NUMBER: _ClassVar[int]
    LIKELY_END_NS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    signal_group: int
    state: MovementPhaseState
    min_end_ns: int
    max_end_ns: int
    likely_end_ns: int
    confidence: float
    def __init__(self, signal_group: _Optional[int] = ..., state: _Optional[_Union[MovementPhaseState, str]] = ..., min_end_ns: _Optional[int] = ..., max_end_ns: _Optional[int] = ..., likely_end_ns: _Optional[int] = ..., confidence: _Optional[float] = ...) -> None: ...

class IntersectionSpat(_message.Message):
    __slots__ = ("intersection_id", "valid_at_ns", "revision", "mode", "movements")
    INTERSECTION_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_AT_NS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    intersection_id: str
    valid_at_ns: int
    revision: int
    mode: ControlMode
    movements: _containers.RepeatedCompositeFieldContainer[MovementEvent]
    def __init__(self, intersection_id: _Optional[str] = ..., valid_at_ns: _Optional[int] = ..., revision: _Optional[int] = ..., mode: _Optional[_Union[ControlMode, str]] = ..., movements: _Optional[_Iterable[_Union[MovementEvent, _Mapping]]] = ...) -> None: ...
