"""``vicoop rsu export-its``: a site's intersections as a Wireshark capture of standard ITS
messages, one MAPEM and one SPATEM per intersection (``roadside.its.capture``).

The intersections' J2735 reference ids (IntersectionReferenceID) are their place in the list,
1 first; the SPATEM is of the current SPaT as an export knows it, which is without a live
controller: every signal group of the map ``UNAVAILABLE``, no timing.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roadside.config import RsuConfig
from roadside.its.capture import (
    BTP_PORT_MAPEM,
    BTP_PORT_SPATEM,
    Sender,
    ethernet,
    geonetworking_shb,
    write_pcap,
)
from roadside.its.mapem import encode_mapem
from roadside.its.spatem import ItsCodecError, encode_spatem
from vicoop.intersection import IntersectionMap
from vicoop.model import GeodeticOrigin
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

__all__ = ["ItsIntersection", "config_intersections", "export_its", "station_id_of"]


@dataclass(frozen=True, slots=True)
class ItsIntersection:
    """One intersection to export: its map, its J2735 reference id and the origin of the ENU
    frame its map is in (the RSU's)."""

    map: IntersectionMap
    ref: int
    origin: GeodeticOrigin


def station_id_of(rsu_id: str) -> int:
    """A StationID (0..2^32-1) for an RSU id: its CRC-32, the same for the same id."""
    return zlib.crc32(rsu_id.encode())


def config_intersections(config: RsuConfig) -> list[ItsIntersection]:
    """The intersections of an RSU configuration's ``map``, numbered 1.. in the file's order."""
    origin = config.origin.to_model()
    return [ItsIntersection(m, k, origin) for k, m in enumerate(config.map.models(), start=1)]


def unavailable_spat(m: IntersectionMap, t_ns: int) -> Spat:
    """The SPaT of ``m`` with no controller: each of its groups UNAVAILABLE, no timing."""
    return Spat(
        intersection_id=m.intersection_id,
        valid_at_ns=t_ns,
        revision=0,
        mode=ControlMode.UNKNOWN,
        movements=tuple(
            MovementEvent(g, MovementPhaseState.UNAVAILABLE, None, None, None) for g in m.group_ids
        ),
    )


def export_its(
    path: Path, intersections: Sequence[ItsIntersection], station_id: int, t_ns: int
) -> int:
    """Write ``path``: per intersection a MAPEM then a SPATEM, sent at ``t_ns`` by
    ``station_id`` standing at the intersection's origin. Returns how many frames."""
    if not intersections:
        raise ItsCodecError("no intersection to export: the configuration's map is empty")
    if not 0 <= station_id <= 0xFFFFFFFF:
        raise ItsCodecError(f"StationID must be 0..4294967295, got {station_id}")
    mac = bytes([0x02, 0x00]) + station_id.to_bytes(4, "big")  # locally administered
    frames: list[tuple[int, bytes]] = []
    for k, x in enumerate(intersections):
        sender = Sender(mac, x.origin)
        mapem = encode_mapem([(x.map, x.ref)], x.origin, station_id)
        if not x.map.signal_groups:
            raise ItsCodecError(
                f"intersections[{k}] ({x.map.intersection_id}): a SPATEM needs a signal group"
            )
        spatem = encode_spatem([(unavailable_spat(x.map, t_ns), x.ref)], station_id)
        for port, pdu in ((BTP_PORT_MAPEM, mapem), (BTP_PORT_SPATEM, spatem)):
            frames.append((t_ns, ethernet(geonetworking_shb(pdu, port, sender, t_ns), mac)))
    return write_pcap(path, frames)
