"""Simulated sensors: pure functions of ground truth, the sensor's configuration and a seeded
random generator. The RSU's own sensor configuration gives the geometry, so both agree."""

from __future__ import annotations

from hil.sensors.camera import CameraMeasurement, CameraModel, measure_camera
from hil.sensors.config import CameraSimConfig, RadarSimConfig
from hil.sensors.occlusion import hidden_share
from hil.sensors.radar import RadarMeasurement, detection_probability, measure_radar, radar_visible

__all__ = [
    "CameraMeasurement",
    "CameraModel",
    "CameraSimConfig",
    "RadarMeasurement",
    "RadarSimConfig",
    "detection_probability",
    "hidden_share",
    "measure_camera",
    "measure_radar",
    "radar_visible",
]
