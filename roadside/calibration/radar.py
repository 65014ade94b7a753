"""Radar polar measurements to ENU, with covariance.

A radar at ``(x_m, y_m, z_m)`` with its boresight ``yaw_rad`` counter-clockwise from east
measures slant range r (m) and azimuth a (rad, counter-clockwise from boresight). The ground
range is sqrt(r^2 - z^2); the point is ``(x, y) + g (cos(yaw + a), sin(yaw + a))``. Its
covariance is J diag(sigma_r^2, sigma_a^2) J^T (J the Jacobian of that map) plus the reflection
point's spread about the object's centre, ``extent_sigma_m^2`` I.
"""

from __future__ import annotations

import numpy as np

from roadside.calibration.base import FloatArray, GroundPoints, Projector
from roadside.calibration.config import RadarMountingConfig, RadarNoiseConfig


class RadarProjector(Projector[tuple[FloatArray, FloatArray]]):
    """Projects (ranges (K,) m, azimuths (K,) rad) of one radar onto the ground."""

    def __init__(self, mounting: RadarMountingConfig, noise: RadarNoiseConfig) -> None:
        self.mounting = mounting
        self.noise = noise

    @property
    def position_xy(self) -> tuple[float, float]:
        return (self.mounting.x_m, self.mounting.y_m)

    def project(self, measurements: tuple[FloatArray, FloatArray]) -> GroundPoints:
        ranges, azimuths = measurements
        r = np.asarray(ranges, dtype=np.float64)
        z = self.mounting.z_m
        g = np.sqrt(np.maximum(r * r - z * z, 0.0))
        dg_dr = np.where(g > 1e-6, r / np.maximum(g, 1e-6), 1.0)
        phi = self.mounting.yaw_rad + np.asarray(azimuths, dtype=np.float64)
        c, s = np.cos(phi), np.sin(phi)
        pos = np.column_stack([self.mounting.x_m + g * c, self.mounting.y_m + g * s])
        j = np.empty((r.size, 2, 2))
        j[:, 0, 0] = c * dg_dr
        j[:, 1, 0] = s * dg_dr
        j[:, 0, 1] = -g * s
        j[:, 1, 1] = g * c
        sig = np.diag([self.noise.range_sigma_m**2, self.noise.azimuth_sigma_rad**2])
        cov = j @ sig @ j.transpose(0, 2, 1) + self.noise.extent_sigma_m**2 * np.eye(2)
        return GroundPoints(pos, cov)
