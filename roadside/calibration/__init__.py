"""Calibration: camera pixels and radar polar measurements to the site's ENU ground plane."""

from __future__ import annotations

from roadside.calibration.base import GroundPoints, Projector
from roadside.calibration.camera import CameraProjector, ground_homography
from roadside.calibration.config import (
    CameraCalibrationConfig,
    ExtrinsicsConfig,
    IntrinsicsConfig,
    RadarMountingConfig,
    RadarNoiseConfig,
)
from roadside.calibration.homography import HomographyFit, SurveyPoint, fit_homography, read_survey
from roadside.calibration.radar import RadarProjector

__all__ = [
    "CameraCalibrationConfig",
    "CameraProjector",
    "ExtrinsicsConfig",
    "GroundPoints",
    "HomographyFit",
    "IntrinsicsConfig",
    "Projector",
    "RadarMountingConfig",
    "RadarNoiseConfig",
    "RadarProjector",
    "SurveyPoint",
    "fit_homography",
    "ground_homography",
    "read_survey",
]
