"""What the RSU's servicer sends and parses: a frame encoded once and sliced per subscriber
without re-encoding, the zone set, vehicle reports.

Protobuf merges concatenated messages: a singular sub-message field met twice is merged, a
repeated field is appended to. So a ``StreamPerceptionResponse`` holding a frame's header,
followed by one ``StreamPerceptionResponse`` per object each holding a frame with just that
object, parses as the whole frame. Each object is encoded once per publish tick, and every
subscriber's filtered frame is a join of byte strings.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import DecodeError

from protos.vicoop.v1 import perception_pb2, roadside_pb2
from vicoop import codec, codec_cloud
from vicoop.cloudmodel import VehicleReport
from vicoop.errors import CodecError
from vicoop.model import PerceptionFrame
from vicoop.zones import ZoneSet


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


def encode_zone_set(zone_set: ZoneSet) -> bytes:
    """A ``StreamZonesResponse`` with every zone of ``zone_set``, by zone id."""
    return roadside_pb2.StreamZonesResponse(
        zones=[codec_cloud.zone_to_proto(z) for _, z in sorted(zone_set.zones.items())],
        revision=zone_set.revision,
    ).SerializeToString()


def decode_report_request(data: bytes, name: str = "report") -> VehicleReport:
    """A ``ReportVehicleStateRequest``'s report; ``CodecError`` naming the field if it is not a
    valid one."""
    try:
        request = roadside_pb2.ReportVehicleStateRequest.FromString(data)
    except (DecodeError, ValueError) as exc:  # ValueError: invalid UTF-8 in a string field
        raise CodecError(
            f"{name}: not a valid vicoop.v1.ReportVehicleStateRequest: {exc}"
        ) from None
    if not request.HasField("report"):
        raise CodecError(f"{name} is missing")
    return codec_cloud.report_from_proto(request.report, name)


def encode_report_response(accepted: int, rejected: int, rejections: Sequence[str]) -> bytes:
    return roadside_pb2.ReportVehicleStateResponse(
        accepted=accepted, rejected=rejected, rejections=list(rejections)
    ).SerializeToString()
