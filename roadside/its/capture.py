"""ITS messages as a Wireshark capture: each facilities-layer PDU (a SPATEM, a MAPEM) wrapped in
BTP-B over GeoNetworking single-hop broadcast over Ethernet (EtherType 0x8947), written as a
classic pcap file (link type 1, Ethernet), which Wireshark and ``tshark`` decode with no option.

GeoNetworking per ETSI EN 302 636-4-1 (basic header, common header, SHB extended header with the
sender's long position vector), BTP-B per EN 302 636-5-1, well-known ports per TS 103 248 (MAPEM
2003, SPATEM 2004). Written by hand (a few fixed-layout headers with ``struct``): no library on
PyPI writes GeoNetworking, and scapy, which writes pcap, has no GeoNetworking layer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vicoop.model import NS_PER_S, GeodeticOrigin

ETHERTYPE_GEONETWORKING = 0x8947
BTP_PORT_MAPEM = 2003
BTP_PORT_SPATEM = 2004
STATION_TYPE_RSU = 15  # ETSI TS 102 894-2 StationType roadSideUnit
# GeoNetworking timestamps: ms since 2004-01-01T00:00:00 UTC (TAI in the standard; the 5 leap
# seconds since then are within what a receiver tolerates for a capture), modulo 2^32.
_ITS_EPOCH_S = 1_072_915_200
_LINKTYPE_ETHERNET = 1


@dataclass(frozen=True, slots=True)
class Sender:
    """The station that sends: its MAC address (6 bytes) and where it stands."""

    mac: bytes
    origin: GeodeticOrigin

    def __post_init__(self) -> None:
        if len(self.mac) != 6:
            raise ValueError(f"a MAC address is 6 bytes, got {len(self.mac)}")


def _gn_timestamp(t_ns: int) -> int:
    return (t_ns // 1_000_000 - _ITS_EPOCH_S * 1000) % (1 << 32)


def geonetworking_shb(payload: bytes, btp_port: int, sender: Sender, t_ns: int) -> bytes:
    """``payload`` behind BTP-B (to ``btp_port``) and a GeoNetworking single-hop broadcast."""
    btp = struct.pack(">HH", btp_port, 0) + payload
    if len(btp) > 0xFFFF:
        raise ValueError(f"a GeoNetworking payload is at most 65535 bytes, got {len(btp)}")
    # Basic header: version 1, next header 1 (common header), reserved, lifetime 60 s
    # (multiplier 60, base 1 s), remaining hop limit 1.
    basic = struct.pack(">BBBB", (1 << 4) | 1, 0, (60 << 2) | 1, 1)
    # Common header: next header 2 (BTP-B), header type 5 / subtype 0 (TSB single hop), traffic
    # class 0, flags 0 (stationary), payload length, maximum hop limit 1, reserved.
    common = struct.pack(">BBBBHBB", 2 << 4, (5 << 4) | 0, 0, 0, len(btp), 1, 0)
    # Long position vector: GN address (manual 0, station type, reserved, MAC), timestamp,
    # latitude and longitude (1/10 micro-degree), position accuracy 0 + speed 0, heading 0.
    gn_addr = struct.pack(">H", STATION_TYPE_RSU << 10) + sender.mac
    lat = round(sender.origin.latitude_deg * 1e7)
    lon = round(sender.origin.longitude_deg * 1e7)
    position = gn_addr + struct.pack(">IiiHH", _gn_timestamp(t_ns), lat, lon, 0, 0)
    shb = position + b"\x00\x00\x00\x00"  # media-dependent data
    return basic + common + shb + btp


def ethernet(frame_payload: bytes, source_mac: bytes) -> bytes:
    """A broadcast Ethernet II frame carrying GeoNetworking."""
    return b"\xff" * 6 + source_mac + struct.pack(">H", ETHERTYPE_GEONETWORKING) + frame_payload


def write_pcap(path: Path, frames: Iterable[tuple[int, bytes]]) -> int:
    """Write ``(t_ns, ethernet_frame)`` records as a classic pcap file; returns how many."""
    count = 0
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, _LINKTYPE_ETHERNET))
        for t_ns, frame in frames:
            seconds, rest = divmod(t_ns, NS_PER_S)
            out.write(struct.pack("<IIII", seconds, rest // 1000, len(frame), len(frame)))
            out.write(frame)
            count += 1
    return count
