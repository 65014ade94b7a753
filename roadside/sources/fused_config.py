"""Configuration of the fused sensor pipeline (``source: {kind: sensors, ...}`` in an RSU's YAML).

Positions in the site's ENU frame (m), angles in rad counter-clockwise from east, ports 0 = pick
a free one (the daemon's ``source.ports`` tells which).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from roadside.calibration.config import (
    CameraCalibrationConfig,
    ExtrinsicsConfig,
    RadarMountingConfig,
    RadarNoiseConfig,
)
from roadside.camera.config import PixelsInputConfig
from roadside.fusion.config import TrackerConfig
from roadside.ingest.trust import TrustConfig
from vicoop.config import StrictModel

_SENSOR_ID = r"^[A-Za-z0-9_.-]+$"


class VradUdpInputConfig(StrictModel):
    """Radar object lists in the VRAD binary format over UDP (``roadside.ingest.udp_radar``)."""

    kind: Literal["udp"] = "udp"
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    # The sensor id in the datagrams' header.
    wire_id: int = Field(default=1, ge=0, le=2**32 - 1)
    # Which sources are believed: allowlist and HMAC trailer (roadside.ingest.trust).
    trust: TrustConfig = TrustConfig()


class CanArs408InputConfig(StrictModel):
    """A Continental ARS408's CAN object list through python-can (``roadside.ingest.can_ars408``)."""

    kind: Literal["can_ars408"] = "can_ars408"
    interface: str = "socketcan"
    channel: str = "can0"
    can_sensor_id: int = Field(default=0, ge=0, le=7)
    # Whether the radar sends Obj_3_Extended (class, length, width).
    extended: bool = False


def kind_or(default: str) -> Callable[[Any], str | None]:
    """A tagged union's discriminator: the value's ``kind``, or ``default`` when it has none."""

    def discriminate(value: Any) -> str | None:
        if isinstance(value, dict):
            kind = value.get("kind", default)
            return kind if isinstance(kind, str) else None
        return getattr(value, "kind", None)

    return discriminate


RadarInputConfig = Annotated[
    Annotated[VradUdpInputConfig, Tag("udp")] | Annotated[CanArs408InputConfig, Tag("can_ars408")],
    Discriminator(kind_or("udp")),
]


class JsonUdpInputConfig(StrictModel):
    """Camera detections as JSON datagrams over UDP (``roadside.ingest.camera``)."""

    kind: Literal["json_udp"] = "json_udp"
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    # Which sources are believed: allowlist and HMAC trailer (roadside.ingest.trust).
    trust: TrustConfig = TrustConfig()


CameraInputConfig = Annotated[
    Annotated[JsonUdpInputConfig, Tag("json_udp")] | Annotated[PixelsInputConfig, Tag("pixels")],
    Discriminator(kind_or("json_udp")),
]
"""A camera's input: boxes as JSON over UDP from a detector elsewhere (``json_udp``, the default),
or frames detected on this RSU (``pixels``, ``roadside.camera``)."""


class RadarSensorConfig(StrictModel):
    """One radar: its input, mounting pose, noise and field of view."""

    sensor_id: str = Field(default="radar-1", min_length=1, max_length=64, pattern=_SENSOR_ID)
    input: RadarInputConfig = VradUdpInputConfig()
    mounting: RadarMountingConfig = RadarMountingConfig(
        x_m=-15.0, y_m=-15.0, z_m=1.0, yaw_rad=math.pi / 4
    )
    noise: RadarNoiseConfig = RadarNoiseConfig()
    half_fov_rad: float = Field(default=math.radians(60), gt=0, le=math.pi)
    max_range_m: float = Field(default=150.0, gt=0, le=1000)


class CameraSensorConfig(StrictModel):
    """One camera: its input, calibration, reach and the least detector score taken (for a camera
    on pixels, on top of its detector's own ``score_threshold``)."""

    sensor_id: str = Field(default="camera-1", min_length=1, max_length=64, pattern=_SENSOR_ID)
    input: CameraInputConfig = JsonUdpInputConfig()
    calibration: CameraCalibrationConfig = CameraCalibrationConfig(
        extrinsics=ExtrinsicsConfig(
            x_m=-15.0, y_m=-15.0, z_m=8.0, yaw_rad=math.pi / 4, pitch_rad=0.2
        )
    )
    max_range_m: float = Field(default=90.0, gt=0, le=1000)
    min_score: float = Field(default=0.3, ge=0, le=1)


class TimeWindowConfig(StrictModel):
    """Which sensor measurement times the RSU accepts, against its own clock when the datagram
    (or CAN frame) arrives: a cycle measured more than ``max_future_s`` after that is rejected
    as ``future``, one measured more than ``max_age_s`` before it as ``stale``; neither reaches
    the tracker. Sensors and the RSU must share a synchronised clock (PTP or NTP)."""

    max_future_s: float = Field(default=0.3, ge=0, le=10)
    max_age_s: float = Field(default=1.0, gt=0, le=60)


class SensorsSourceConfig(StrictModel):
    """Cameras and radars, fused and tracked (see ``roadside.sources.fused``)."""

    kind: Literal["sensors"] = "sensors"
    radars: tuple[RadarSensorConfig, ...] = (RadarSensorConfig(),)
    cameras: tuple[CameraSensorConfig, ...] = (CameraSensorConfig(),)
    tracker_kind: Literal["imm-gnn"] = "imm-gnn"
    tracker: TrackerConfig = TrackerConfig()
    # A sensor with no accepted cycle received for this long (RSU clock) is DEGRADED, and for
    # this long SILENT; junk on its port alone does not degrade it.
    degraded_after_s: float = Field(default=0.25, gt=0, le=60)
    silent_after_s: float = Field(default=1.0, gt=0, le=600)
    time_window: TimeWindowConfig = TimeWindowConfig()

    @model_validator(mode="after")
    def _check(self) -> SensorsSourceConfig:
        ids = [s.sensor_id for s in self.radars] + [c.sensor_id for c in self.cameras]
        if len(set(ids)) != len(ids):
            raise ValueError(f"sensor ids must be unique, got {ids}")
        if self.silent_after_s < self.degraded_after_s:
            raise ValueError("silent_after_s must not be less than degraded_after_s")
        late = self.tracker.late_window_s
        if late > 0 and self.time_window.max_future_s >= late:
            # A scan accepted that far ahead would make the next real scans too late to fuse.
            raise ValueError(
                f"time_window.max_future_s ({self.time_window.max_future_s}) must be less than "
                f"tracker.late_window_s ({late})"
            )
        return self
