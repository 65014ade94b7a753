"""Sensor ingest: radar object lists (VRAD over UDP, ARS408 over CAN), camera detections and
signal controller states (JSON over UDP), decoded into timestamped cycles and states; bad input
is counted and skipped."""

from __future__ import annotations

from roadside.ingest.base import (
    CameraFrame,
    Decoder,
    Ingest,
    IngestStats,
    ParseError,
    RadarCycle,
    SequenceGuard,
    TimeWindow,
)
from roadside.ingest.camera import JsonCameraDecoder
from roadside.ingest.can_ars408 import Ars408Decoder, Ars408Reader
from roadside.ingest.signal import JsonSignalDecoder, SignalIngest
from roadside.ingest.udp import UdpEndpoint
from roadside.ingest.udp_radar import VradDecoder

__all__ = [
    "Ars408Decoder",
    "Ars408Reader",
    "CameraFrame",
    "Decoder",
    "Ingest",
    "IngestStats",
    "JsonCameraDecoder",
    "JsonSignalDecoder",
    "ParseError",
    "RadarCycle",
    "SequenceGuard",
    "SignalIngest",
    "TimeWindow",
    "UdpEndpoint",
    "VradDecoder",
]
