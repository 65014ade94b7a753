"""Fitting the camera-ground homography from surveyed points (``vicoop rsu calibrate``).

Each surveyed point pairs a pixel (u, v) with a WGS84 position (lat, lon[, alt]); positions go to
the site's ENU frame (exactly), pixels are undistorted with the camera's intrinsics, and
``cv2.findHomography`` fits G (undistorted pixel -> ENU ground). The reprojection error is each
point's ground distance between G(pixel) and its surveyed ENU position, in metres, and the pixel
distance between G^-1(surveyed) and the measured pixel.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from roadside.calibration.base import FloatArray
from roadside.calibration.camera import apply_homography
from vicoop.errors import ConfigError
from vicoop.geodesy import geodetic_to_enu
from vicoop.model import GeodeticOrigin


@dataclass(frozen=True, slots=True)
class SurveyPoint:
    """A pixel (px) and its surveyed WGS84 position."""

    u_px: float
    v_px: float
    latitude_deg: float
    longitude_deg: float
    altitude_m: float | None = None


@dataclass(frozen=True, eq=False)
class HomographyFit:
    """A fitted ground homography and its reprojection errors (per point, metres and pixels)."""

    homography: FloatArray
    ground_errors_m: FloatArray
    pixel_errors_px: FloatArray
    inliers: np.ndarray

    @property
    def rms_m(self) -> float:
        return float(np.sqrt(np.mean(self.ground_errors_m**2)))

    @property
    def rms_px(self) -> float:
        return float(np.sqrt(np.mean(self.pixel_errors_px**2)))


def read_survey(path: str | Path) -> list[SurveyPoint]:
    """Read a CSV with a header naming ``u,v,lat,lon`` and optionally ``alt`` columns."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror}") from None
    points = []
    for n, row in enumerate(rows, start=2):
        try:
            alt = row.get("alt")
            points.append(
                SurveyPoint(
                    float(row["u"]),
                    float(row["v"]),
                    float(row["lat"]),
                    float(row["lon"]),
                    float(alt) if alt not in (None, "") else None,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: line {n}: need numeric u, v, lat, lon ({exc})") from None
    return points


def fit_homography(
    points: list[SurveyPoint],
    origin: GeodeticOrigin,
    camera_matrix: FloatArray | None = None,
    distortion: FloatArray | None = None,
    ransac_threshold_m: float = 0.0,
) -> HomographyFit:
    """Fit G from at least 4 surveyed points; RANSAC when ``ransac_threshold_m`` > 0."""
    if len(points) < 4:
        raise ConfigError(f"a homography needs at least 4 surveyed points, got {len(points)}")
    pixels = np.array([[p.u_px, p.v_px] for p in points], dtype=np.float64)
    if camera_matrix is not None and distortion is not None and np.any(distortion != 0):
        pixels = np.asarray(
            cv2.undistortPoints(
                pixels.reshape(-1, 1, 2), camera_matrix, distortion, P=camera_matrix
            ),
            dtype=np.float64,
        ).reshape(-1, 2)
    alts = [origin.altitude_m if p.altitude_m is None else p.altitude_m for p in points]
    surveyed = [(p.latitude_deg, p.longitude_deg, a) for p, a in zip(points, alts, strict=True)]
    ground = np.ascontiguousarray(geodetic_to_enu(surveyed, origin)[:, :2])
    method = cv2.RANSAC if ransac_threshold_m > 0 else 0
    h, mask = cv2.findHomography(
        pixels, ground, method, ransac_threshold_m if ransac_threshold_m > 0 else 3.0
    )
    if h is None:
        raise ConfigError(
            "the surveyed points do not determine a homography (are 3 of them collinear?)"
        )
    h = h / h[2, 2]
    mapped, _ = apply_homography(h, pixels)
    ground_err = np.hypot(*(mapped - ground).T)
    back, _ = apply_homography(np.linalg.inv(h), ground)
    pixel_err = np.hypot(*(back - pixels).T)
    inliers = mask.ravel().astype(bool) if mask is not None else np.ones(len(points), dtype=bool)
    return HomographyFit(h, ground_err, pixel_err, inliers)
