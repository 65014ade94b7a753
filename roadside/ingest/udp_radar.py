"""Radar object lists over UDP: the project's own binary format ("VRAD", version 1).

One datagram carries one radar cycle. All fields big-endian (network order)::

    header, 24 bytes
      0  4  magic           b"VRAD"
      4  1  version         uint8, 1
      5  1  flags           uint8, 0 (reserved)
      6  2  object_count    uint16, K
      8  4  sensor_id       uint32, the radar's wire id (``wire_id`` in the configuration)
     12  4  cycle           uint32, counts up by one per cycle, wraps at 2^32
     16  8  measured_at_ns int64, when the cycle was measured, ns since the Unix epoch (UTC)
    K objects, 16 bytes each
      0  4  range_m          float32, slant range, >= 0
      4  4  azimuth_rad      float32, counter-clockwise from boresight, in [-pi, pi]
      8  4  radial_speed_mps float32, positive away from the radar
     12  2  rcs_cdbsm        int16, radar cross-section in 0.01 dBsm
     14  1  object_class     uint8, a vicoop.v1.ObjectClass value, 0 when not classified
     15  1  reserved         uint8, 0
    trailer, 4 bytes
      0  4  crc32           uint32, zlib CRC-32 of every byte before it

A datagram of another length, magic, version or CRC, with a non-finite or out-of-range value, an
unknown class or another sensor's id is rejected with a reason; so are repeated and older cycle
numbers (see ``roadside.ingest.base.Ingest``).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roadside.ingest.base import Decoder, ParseError, RadarCycle
from vicoop.model import ObjectClass

MAGIC = b"VRAD"
VERSION = 1
HEADER = struct.Struct(">4sBBHIIq")
OBJECT_DTYPE = np.dtype(
    [
        ("range", ">f4"),
        ("azimuth", ">f4"),
        ("radial_speed", ">f4"),
        ("rcs", ">i2"),
        ("cls", "u1"),
        ("reserved", "u1"),
    ]
)
CRC = struct.Struct(">I")
MAX_OBJECTS = (65507 - HEADER.size - CRC.size) // OBJECT_DTYPE.itemsize
_MAX_CLASS = max(ObjectClass)


@dataclass(frozen=True, slots=True)
class RadarObject:
    """One object of a cycle, for encoding (units as in the format above)."""

    range_m: float
    azimuth_rad: float
    radial_speed_mps: float
    rcs_dbsm: float = 0.0
    object_class: int = 0


def encode(
    sensor_wire_id: int, cycle: int, measured_at_ns: int, objects: Sequence[RadarObject]
) -> bytes:
    """One datagram in the VRAD format."""
    if len(objects) > MAX_OBJECTS:
        raise ValueError(f"at most {MAX_OBJECTS} objects fit in one datagram")
    body = np.zeros(len(objects), dtype=OBJECT_DTYPE)
    for i, o in enumerate(objects):
        body[i] = (
            o.range_m,
            o.azimuth_rad,
            o.radial_speed_mps,
            round(o.rcs_dbsm * 100),
            o.object_class,
            0,
        )
    data = (
        HEADER.pack(
            MAGIC, VERSION, 0, len(objects), sensor_wire_id, cycle % (1 << 32), measured_at_ns
        )
        + body.tobytes()
    )
    return data + CRC.pack(zlib.crc32(data))


def encode_arrays(
    sensor_wire_id: int,
    cycle: int,
    measured_at_ns: int,
    ranges: np.ndarray,
    azimuths: np.ndarray,
    radial_speeds: np.ndarray,
    rcs_dbsm: np.ndarray | None = None,
    classes: np.ndarray | None = None,
) -> bytes:
    """Like ``encode``, from (K,) arrays (vectorised, for simulators)."""
    k = len(ranges)
    body = np.zeros(k, dtype=OBJECT_DTYPE)
    body["range"], body["azimuth"], body["radial_speed"] = ranges, azimuths, radial_speeds
    if rcs_dbsm is not None:
        body["rcs"] = np.round(np.asarray(rcs_dbsm) * 100)
    if classes is not None:
        body["cls"] = classes
    data = (
        HEADER.pack(MAGIC, VERSION, 0, k, sensor_wire_id, cycle % (1 << 32), measured_at_ns)
        + body.tobytes()
    )
    return data + CRC.pack(zlib.crc32(data))


class VradDecoder(Decoder[RadarCycle]):
    """Decodes VRAD datagrams of the radar with wire id ``wire_id``, named ``sensor_id`` inside."""

    def __init__(self, sensor_id: str, wire_id: int) -> None:
        self.sensor_id = sensor_id
        self.wire_id = wire_id

    def decode(self, data: bytes) -> RadarCycle:
        if len(data) < HEADER.size + CRC.size:
            raise ParseError("truncated", f"{len(data)} bytes")
        magic, version, _flags, count, sensor, cycle, t_ns = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ParseError("bad_magic")
        if version != VERSION:
            raise ParseError("bad_version", str(version))
        expected = HEADER.size + count * OBJECT_DTYPE.itemsize + CRC.size
        if len(data) < expected:
            raise ParseError("truncated", f"{len(data)} bytes for {count} objects")
        if len(data) > expected:
            raise ParseError("bad_length", f"{len(data)} bytes for {count} objects")
        (crc,) = CRC.unpack_from(data, expected - CRC.size)
        if crc != zlib.crc32(memoryview(data)[: expected - CRC.size]):
            raise ParseError("bad_crc")
        if sensor != self.wire_id:
            raise ParseError("unknown_sensor", str(sensor))
        if t_ns <= 0:
            raise ParseError("bad_time", str(t_ns))
        body = np.frombuffer(data, dtype=OBJECT_DTYPE, count=count, offset=HEADER.size)
        ranges = body["range"].astype(np.float64)
        az = body["azimuth"].astype(np.float64)
        vr = body["radial_speed"].astype(np.float64)
        if not (np.isfinite(ranges).all() and np.isfinite(az).all() and np.isfinite(vr).all()):
            raise ParseError("bad_value", "non-finite number")
        if (ranges < 0).any() or (np.abs(az) > math.pi + 1e-6).any():
            raise ParseError("bad_value", "range or azimuth out of range")
        classes = body["cls"].astype(np.int64)
        if (classes > _MAX_CLASS).any():
            raise ParseError("bad_class")
        return RadarCycle(
            sensor_id=self.sensor_id,
            cycle=cycle,
            measured_at_ns=t_ns,
            ranges_m=ranges,
            azimuths_rad=az,
            radial_speeds_mps=vr,
            rcs_dbsm=body["rcs"].astype(np.float64) / 100.0,
            classes=classes,
        )
