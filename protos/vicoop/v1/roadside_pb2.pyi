from protos.vicoop.v1 import common_pb2 as _common_pb2
from protos.vicoop.v1 import perception_pb2 as _perception_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
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
