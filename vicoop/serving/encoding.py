"""What the RSU's servicer sends and parses: a frame encoded once and sliced per subscriber
without re-encoding, the zone set, vehicle reports.

A ``StreamPerceptionResponse`` is written as protobuf's own serializer writes it, fields in
ascending number, so every decoder reads it (protobufjs, for one, keeps only the last occurrence
of a singular message field, so concatenated messages that Python would merge are not an
option)::

    0x0a <varint: frame length>           StreamPerceptionResponse.frame (field 1)
      head                                PerceptionFrame fields 1-5: rsu_id .. origin
      0x32 <varint: length> <object>      objects (field 6), one entry per object sent
      ...
      tail                                fields 7-8: sensors, objects_before_filter

The head, the tail and every object's entry are encoded once per publish tick; a subscriber's
response is a join of those byte strings with the two length prefixes written for the objects
it gets.
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

# Tags (field number << 3 | wire type 2, length-delimited) of the fields written by hand.
_RESPONSE_FRAME_TAG = b"\x0a"  # StreamPerceptionResponse.frame = 1
_FRAME_OBJECTS_TAG = b"\x32"  # PerceptionFrame.objects = 6


def varint(value: int) -> bytes:
    """``value`` (>= 0) as a protobuf base-128 varint, least significant group first."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def perception_response(frame: bytes) -> bytes:
    """The ``StreamPerceptionResponse`` holding the serialized ``PerceptionFrame`` ``frame``."""
    return _RESPONSE_FRAME_TAG + varint(len(frame)) + frame


def _object_entry(data: bytes) -> bytes:
    """One ``PerceptionFrame.objects`` entry holding the serialized ``DetectedObject`` ``data``."""
    return _FRAME_OBJECTS_TAG + varint(len(data)) + data


class EncodedFrame:
    """A ``StreamPerceptionResponse`` for ``frame``, ready to send whole or for a subset."""

    __slots__ = ("_all", "_entries", "_head", "_tail", "frame")

    def __init__(self, frame: PerceptionFrame) -> None:
        self.frame = frame
        header = codec.frame_header_to_proto(frame)
        tail = perception_pb2.PerceptionFrame(
            sensors=header.sensors, objects_before_filter=header.objects_before_filter
        )
        header.ClearField("sensors")
        header.ClearField("objects_before_filter")
        self._head = header.SerializeToString()
        self._tail = tail.SerializeToString()
        self._entries = [
            _object_entry(codec.object_to_proto(o).SerializeToString()) for o in frame.objects
        ]
        self._all: bytes | None = None

    @property
    def all_objects(self) -> bytes:
        """The response with every object."""
        if self._all is None:
            self._all = self._response(self._entries)
        return self._all

    def subset(self, indices: Sequence[int]) -> bytes:
        """The response with only the objects at ``indices`` (in that order)."""
        entries = self._entries
        return self._response([entries[i] for i in indices])

    def _response(self, entries: list[bytes]) -> bytes:
        return perception_response(b"".join([self._head, *entries, self._tail]))


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
