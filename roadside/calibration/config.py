"""Calibration in the site configuration: camera intrinsics, distortion, extrinsics or ground
homography, radar mounting pose and noise. Positions in the site's ENU frame (m), angles in rad."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from vicoop.config import StrictModel


class IntrinsicsConfig(StrictModel):
    """The pinhole camera matrix, pixels: focal lengths and principal point."""

    fx: float = Field(default=1400.0, gt=0)
    fy: float = Field(default=1400.0, gt=0)
    cx: float = Field(default=960.0, ge=0)
    cy: float = Field(default=540.0, ge=0)
    width_px: int = Field(default=1920, gt=0, le=20000)
    height_px: int = Field(default=1080, gt=0, le=20000)


class ExtrinsicsConfig(StrictModel):
    """Where the camera is (ENU, m) and where it looks.

    ``yaw_rad`` is the optical axis' direction counter-clockwise from east, ``pitch_rad`` its tilt
    below the horizon (positive looks down), ``roll_rad`` the rotation about the optical axis
    (positive turns the image clockwise as seen by the camera).
    """

    x_m: float = 0.0
    y_m: float = 0.0
    z_m: float = Field(default=8.0, gt=0, le=500)
    yaw_rad: float = Field(default=0.0, ge=-7, le=7)
    pitch_rad: float = Field(default=0.3, gt=0, lt=1.5708)
    roll_rad: float = Field(default=0.0, ge=-1, le=1)


class CameraCalibrationConfig(StrictModel):
    """A camera's calibration: intrinsics, OpenCV distortion (k1, k2, p1, p2[, k3 ...]) and
    either ``extrinsics`` or a ``homography`` (3x3, row-major: undistorted pixel (u, v, 1) to ENU
    ground (x, y, 1) up to scale, as fitted by ``vicoop rsu calibrate``)."""

    intrinsics: IntrinsicsConfig = IntrinsicsConfig()
    distortion: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    # When neither is given, the default extrinsics.
    extrinsics: ExtrinsicsConfig | None = None
    homography: (
        tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
        | None
    ) = None
    # With a homography only: the camera's ground position (x, y) m, to move the box's ground
    # contact point back to the object's centre along the line of sight.
    position_xy_m: tuple[float, float] | None = None
    # Standard deviation of a box edge's pixel position.
    pixel_sigma_px: float = Field(default=2.0, gt=0, le=100)
    # Height of the ground plane in the ENU frame, m.
    ground_z_m: float = 0.0

    @model_validator(mode="before")
    @classmethod
    def _default_geometry(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("extrinsics") is None
            and data.get("homography") is None
        ):
            return {**data, "extrinsics": ExtrinsicsConfig()}
        return data

    @model_validator(mode="after")
    def _one_geometry(self) -> CameraCalibrationConfig:
        if (self.extrinsics is None) == (self.homography is None):
            raise ValueError("give exactly one of extrinsics and homography")
        if len(self.distortion) not in (4, 5, 8, 12, 14):
            raise ValueError(
                f"distortion must have 4, 5, 8, 12 or 14 coefficients, got {len(self.distortion)}"
            )
        return self


class RadarMountingConfig(StrictModel):
    """Where a radar is (ENU, m) and its boresight direction, counter-clockwise from east."""

    x_m: float = 0.0
    y_m: float = 0.0
    z_m: float = Field(default=1.0, ge=0, le=500)
    yaw_rad: float = Field(default=0.0, ge=-7, le=7)


class RadarNoiseConfig(StrictModel):
    """A radar's measurement noise (standard deviations)."""

    range_sigma_m: float = Field(default=0.25, gt=0, le=50)
    azimuth_sigma_rad: float = Field(default=0.005, gt=0, le=1)
    radial_speed_sigma_mps: float = Field(default=0.2, gt=0, le=50)
    # Spread of the reflection point about the object's centre, m, whatever the object.
    extent_sigma_m: float = Field(default=0.5, ge=0, le=20)
    # And in proportion to the object: the reflection point's standard deviation along the
    # object's length and across its width as a fraction of them (0.15: anywhere on the middle
    # half of a long vehicle). The tracker applies it with each track's size and heading.
    extent_fraction: float = Field(default=0.15, ge=0, le=1)
