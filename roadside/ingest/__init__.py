"""Sensor ingest: radar object lists (VRAD over UDP, ARS408 over CAN) and camera detections
(JSON over UDP), decoded into timestamped cycles; bad input is counted and skipped."""

from __future__ import annotations

from roadside.ingest.base import (
    CameraFrame,
    Decoder,
    Ingest,
    IngestStats,
    ParseError,
    RadarCycle,
    SequenceGuard,
)
from roadside.ingest.camera import JsonCameraDecoder
from roadside.ingest.can_ars408 import Ars408Decoder, Ars408Reader
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
    "ParseError",
    "RadarCycle",
    "SequenceGuard",
    "UdpEndpoint",
    "VradDecoder",
]
