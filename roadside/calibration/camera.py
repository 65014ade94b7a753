"""Camera pixels to the ENU ground plane, with covariance propagated from pixel noise.

A detection box ``(u0, v0, u1, v1)`` px touches the ground at the middle of its bottom edge,
``((u0 + u1) / 2, v1)``. That pixel is undistorted (OpenCV model, ``cv2.undistortPoints``) and
mapped by the ground homography G (undistorted pixel -> ENU ground, either configured or built
from the intrinsics and extrinsics: G = (K R_cw M)^-1, M placing the ground plane) to the
object's ground contact point. An image row is a line on the ground across the camera's
horizontal viewing direction (``view_axis_rad``), so the bottom edge is the footprint's nearest
point along that direction, half the footprint's extent along it short of the centre:
(length + width) / pi of its class on average over headings. The centre lies that much further
along the axis, 1 / cos(angle between line of sight and axis) as much along the line of sight
(``roadside.fusion.base.near_side_offsets``); the tracker redoes this with each track's heading.

The covariance is J diag(sigma^2 / 2, sigma^2) J^T, with sigma the edge noise in pixels and J the
2x2 Jacobian of undistortion followed by the homography at that pixel, plus the centre offset's
uncertainty along the line of sight and, across it, the perspective shift of the box's middle off
the centre's bearing (0.1 length^2 / distance: metres for a bus near the pole, centimetres for a
car further off).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from roadside.calibration.base import FloatArray, GroundPoints, Projector
from roadside.calibration.config import CameraCalibrationConfig, ExtrinsicsConfig
from roadside.fusion.base import CLASS_SIZE_TABLE, IntArray, class_index

_UNKNOWN_SIZE = (4.0, 1.8)
# Standard deviation across the line of sight of a box's middle, in units of length^2 / distance.
_ACROSS_SPREAD = 0.1


def camera_rotation(extrinsics: ExtrinsicsConfig) -> FloatArray:
    """R_wc (3x3): columns are the camera's x (right), y (down), z (optical axis) in ENU."""
    yaw, pitch, roll = extrinsics.yaw_rad, extrinsics.pitch_rad, extrinsics.roll_rad
    forward = np.array(
        [math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), -math.sin(pitch)]
    )
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    down = np.cross(forward, right)
    c, s = math.cos(roll), math.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    return np.column_stack([right, down, forward])


def camera_matrix(config: CameraCalibrationConfig) -> FloatArray:
    i = config.intrinsics
    return np.asarray([[i.fx, 0.0, i.cx], [0.0, i.fy, i.cy], [0.0, 0.0, 1.0]])


def ground_homography(config: CameraCalibrationConfig) -> FloatArray:
    """G (3x3): undistorted pixel (u, v, 1) to ENU ground (x, y, 1), up to scale."""
    if config.homography is not None:
        return np.array(config.homography, dtype=np.float64)
    assert config.extrinsics is not None
    e = config.extrinsics
    r_cw = camera_rotation(e).T
    m = np.array([[1.0, 0.0, -e.x_m], [0.0, 1.0, -e.y_m], [0.0, 0.0, config.ground_z_m - e.z_m]])
    img_from_ground = camera_matrix(config) @ r_cw @ m
    g: FloatArray = np.linalg.inv(img_from_ground)
    out: FloatArray = g / g[2, 2]
    return out


def apply_homography(h: FloatArray, points: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Map (K, 2) points by ``h``; returns the mapped points and the (K, 2, 2) Jacobians."""
    u, v = points[:, 0], points[:, 1]
    w = h[2, 0] * u + h[2, 1] * v + h[2, 2]
    x = (h[0, 0] * u + h[0, 1] * v + h[0, 2]) / w
    y = (h[1, 0] * u + h[1, 1] * v + h[1, 2]) / w
    j = np.empty((points.shape[0], 2, 2))
    j[:, 0, 0] = (h[0, 0] - x * h[2, 0]) / w
    j[:, 0, 1] = (h[0, 1] - x * h[2, 1]) / w
    j[:, 1, 0] = (h[1, 0] - y * h[2, 0]) / w
    j[:, 1, 1] = (h[1, 1] - y * h[2, 1]) / w
    return np.column_stack([x, y]), j


class CameraProjector(Projector[tuple[FloatArray, IntArray]]):
    """Projects (boxes (K, 4) px, classes (K,) ``ObjectClass`` values) onto the ground."""

    def __init__(self, config: CameraCalibrationConfig) -> None:
        self.config = config
        self.k = camera_matrix(config)
        self.dist = np.asarray(config.distortion, dtype=np.float64)
        self.g = ground_homography(config)
        self._distorted = bool(np.any(self.dist != 0.0))
        if config.extrinsics is not None:
            self.position_xy: tuple[float, float] | None = (
                config.extrinsics.x_m,
                config.extrinsics.y_m,
            )
        else:
            self.position_xy = config.position_xy_m
        self.view_axis_rad = self._view_axis()

    def _view_axis(self) -> float:
        """The camera's horizontal viewing direction, rad counter-clockwise from east: across the
        ground line of the bottom image row, away from where lower rows land."""
        i = self.config.intrinsics
        v = float(i.height_px - 1)
        (p0, p_right, p_below), _ = apply_homography(
            self.g, np.array([[i.cx, v], [i.cx + 1.0, v], [i.cx, v + 1.0]])
        )
        row = p_right - p0
        axis = np.array([-row[1], row[0]])
        if axis @ (p0 - p_below) < 0:
            axis = -axis
        return math.atan2(axis[1], axis[0])

    def undistort(self, pixels: FloatArray) -> FloatArray:
        """(K, 2) distorted pixels to undistorted pixels (same camera matrix)."""
        if not self._distorted or pixels.shape[0] == 0:
            return pixels.astype(np.float64, copy=True)
        out = cv2.undistortPoints(
            pixels.reshape(-1, 1, 2).astype(np.float64), self.k, self.dist, P=self.k
        )
        return np.asarray(out, dtype=np.float64).reshape(-1, 2)

    def pixels_to_ground(self, pixels: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(K, 2) distorted pixels to (K, 2) ENU ground points and the (K, 2, 2) Jacobians."""
        k = pixels.shape[0]
        if not self._distorted:
            return apply_homography(self.g, pixels)
        eps = 0.5
        stacked = np.concatenate(
            [pixels, pixels + np.array([eps, 0.0]), pixels + np.array([0.0, eps])]
        )
        und = self.undistort(stacked)
        base, du, dv = und[:k], und[k : 2 * k], und[2 * k :]
        d = np.stack([(du - base) / eps, (dv - base) / eps], axis=2)
        ground, jh = apply_homography(self.g, base)
        return ground, jh @ d

    def project(self, measurements: tuple[FloatArray, IntArray]) -> GroundPoints:
        boxes, classes = measurements
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        contact = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]])
        ground, j = self.pixels_to_ground(contact)
        sigma2 = self.config.pixel_sigma_px**2
        cov = j @ np.diag([sigma2 / 2.0, sigma2]) @ j.transpose(0, 2, 1)
        if self.position_xy is not None and ground.shape[0]:
            ci = class_index(classes)
            lw = np.where(
                (ci >= 0)[:, None], CLASS_SIZE_TABLE[np.maximum(ci, 0), :2], _UNKNOWN_SIZE
            )
            ray = ground - np.asarray(self.position_xy)
            u = ray / np.maximum(np.hypot(ray[:, 0], ray[:, 1]), 1e-6)[:, None]
            cos_los = u @ np.array([math.cos(self.view_axis_rad), math.sin(self.view_axis_rad)])
            offset = (lw[:, 0] + lw[:, 1]) / math.pi / np.maximum(cos_los, 0.5)
            ground = ground + u * offset[:, None]
            spread2 = (0.3 * (lw[:, 0] - lw[:, 1]) / 2.0 + 0.1) ** 2
            cov = cov + spread2[:, None, None] * (u[:, :, None] * u[:, None, :])
            # The box's horizontal middle is the centre's bearing only for a small object: the
            # near end of a long one spans more pixels than the far end, by about L^2 / d.
            across = (
                _ACROSS_SPREAD * lw[:, 0] ** 2 / np.maximum(np.hypot(ray[:, 0], ray[:, 1]), 1.0)
            ) ** 2
            v = np.column_stack([-u[:, 1], u[:, 0]])
            cov = cov + across[:, None, None] * (v[:, :, None] * v[:, None, :])
            return GroundPoints(ground, cov, offset, spread2)
        return GroundPoints(ground, cov)
