"""A frame encoded once, sliced per subscriber without re-encoding.

Protobuf merges concatenated messages: a singular sub-message field met twice is merged, a
repeated field is appended to. So a ``StreamPerceptionResponse`` holding a frame's header,
followed by one ``StreamPerceptionResponse`` per object each holding a frame with just that
object, parses as the whole frame. Each object is encoded once per publish tick, and every
subscriber's filtered frame is a join of byte strings.
"""

from __future__ import annotations

from collections.abc import Sequence

from protos.vicoop.v1 import perception_pb2, roadside_pb2
from vicoop import codec
from vicoop.model import PerceptionFrame


class EncodedFrame:
    """A ``StreamPerceptionResponse`` for ``frame``, ready to send whole or for a subset."""

    __slots__ = ("_all", "_header", "_objects", "frame")

    def __init__(self, frame: PerceptionFrame) -> None:
        self.frame = frame
        self._header = roadside_pb2.StreamPerceptionResponse(
            frame=codec.frame_header_to_proto(frame)
        ).SerializeToString()
        self._objects = [
            roadside_pb2.StreamPerceptionResponse(
                frame=perception_pb2.PerceptionFrame(objects=[codec.object_to_proto(o)])
            ).SerializeToString()
            for o in frame.objects
        ]
        self._all: bytes | None = None

    @property
    def all_objects(self) -> bytes:
        """The response with every object."""
        if self._all is None:
            self._all = self._header + b"".join(self._objects)
        return self._all

    def subset(self, indices: Sequence[int]) -> bytes:
        """The response with only the objects at ``indices`` (in that order)."""
        objects = self._objects
        return self._header + b"".join([objects[i] for i in indices])
