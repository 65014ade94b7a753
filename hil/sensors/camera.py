"""A simulated camera detector: ground truth in, 2-D detection boxes (pixels) out.

Pure: ``measure_camera(truth, sensor, sim, rng)``. Each road user's 3-D box (footprint and
height) is projected through the RSU's own calibration of the camera (intrinsics, distortion,
extrinsics; OpenCV's model, as the RSU undoes it), and its 2-D bounding box gets Gaussian noise
on every edge. A road user is detected with ``p_detect`` when its box is whole in the image,
within the camera's reach, in front of it, tall enough (``min_box_height_px``; up to twice that,
less and less often) and not hidden behind nearer road users; its class is right with
``p_class``. False positives: a Poisson number of car-sized boxes at random ground points in view,
with low scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from hil.sensors.config import CameraSimConfig
from hil.sensors.occlusion import hidden_share
from hil.truth import FloatArray, GroundTruth, IntArray
from roadside.calibration.camera import camera_matrix, camera_rotation
from roadside.ingest.base import CameraFrame
from roadside.sources.fused_config import CameraSensorConfig
from vicoop.model import ObjectClass

_CONFUSABLE = np.array(
    [int(c) for c in (ObjectClass.CAR, ObjectClass.VAN, ObjectClass.TRUCK, ObjectClass.BUS)]
)


@dataclass(frozen=True, eq=False)
class CameraMeasurement:
    """One frame's detections: ``boxes`` (K, 4) px (u0, v0, u1, v1), ``classes`` (K,)
    ``ObjectClass`` values, ``scores`` (K,); ``truth_ids`` (K,) -1 for false positives."""

    measured_at_ns: int
    boxes: FloatArray
    classes: IntArray
    scores: FloatArray
    truth_ids: IntArray

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def as_frame(self, sensor_id: str, frame: int) -> CameraFrame:
        """The detections as the RSU's camera ingest delivers them."""
        return CameraFrame(
            sensor_id, frame, self.measured_at_ns, self.boxes, self.classes, self.scores
        )


class CameraModel:
    """The projection of one camera (precomputed from its calibration)."""

    def __init__(self, sensor: CameraSensorConfig) -> None:
        cal = sensor.calibration
        if cal.extrinsics is None:
            raise ValueError(
                f"camera {sensor.sensor_id}: the simulator needs extrinsics, not a homography"
            )
        e = cal.extrinsics
        self.sensor = sensor
        self.r_cw = camera_rotation(e).T
        self.rvec = cv2.Rodrigues(self.r_cw)[0]
        self.centre = np.array([e.x_m, e.y_m, e.z_m])
        self.tvec = -self.r_cw @ self.centre
        self.k = camera_matrix(cal)
        self.dist = np.asarray(cal.distortion, dtype=np.float64)
        self.width = cal.intrinsics.width_px
        self.height = cal.intrinsics.height_px

    def project_boxes(self, truth: GroundTruth) -> tuple[FloatArray, FloatArray]:
        """(N, 4) image bounding boxes of the road users' 3-D boxes, and (N,) their nearest
        corner's depth along the optical axis (m; <= 0 behind the camera)."""
        n = len(truth)
        if n == 0:
            return np.zeros((0, 4)), np.zeros(0)
        u = np.column_stack([np.cos(truth.headings), np.sin(truth.headings)])
        lat = np.column_stack([-u[:, 1], u[:, 0]])
        corners = []
        for sl in (-0.5, 0.5):
            for sw in (-0.5, 0.5):
                xy = (
                    truth.positions
                    + u * (sl * truth.sizes[:, :1])
                    + lat * (sw * truth.sizes[:, 1:2])
                )
                for h in (0.0, 1.0):
                    corners.append(np.column_stack([xy, h * truth.sizes[:, 2]]))
        pts = np.stack(corners, axis=1).reshape(-1, 3)
        depth = ((pts - self.centre) @ self.r_cw.T)[:, 2].reshape(n, 8).min(axis=1)
        px = cv2.projectPoints(pts, self.rvec, self.tvec, self.k, self.dist)[0].reshape(n, 8, 2)
        return np.concatenate([px.min(axis=1), px.max(axis=1)], axis=1), depth

    def visible(self, truth: GroundTruth, sim: CameraSimConfig) -> tuple[np.ndarray, FloatArray]:
        """(N,) whether each road user can be detected at all, and (N, 4) its true box."""
        boxes, depth = self.project_boxes(truth)
        ground = np.hypot(*(truth.positions - self.centre[:2]).T) if len(truth) else np.zeros(0)
        in_image = (
            (depth > 1.0)
            & (boxes[:, 0] >= 0)
            & (boxes[:, 1] >= 0)
            & (boxes[:, 2] <= self.width)
            & (boxes[:, 3] <= self.height)
        )
        e = self.sensor.calibration.extrinsics
        assert e is not None
        hidden = hidden_share(truth, (e.x_m, e.y_m, e.z_m), e.yaw_rad) > sim.occlusion_threshold
        return in_image & (ground <= self.sensor.max_range_m) & ~hidden, boxes


def size_factor(box_heights_px: FloatArray, min_height_px: float) -> FloatArray:
    """(N,) detection probability factor for boxes this tall: 0 below ``min_height_px``, 1 from
    twice that, linear in between."""
    if min_height_px <= 0:
        return np.ones_like(box_heights_px)
    out: FloatArray = np.clip(box_heights_px / min_height_px - 1.0, 0.0, 1.0)
    return out


def measure_camera(
    truth: GroundTruth,
    model: CameraModel,
    sim: CameraSimConfig,
    rng: np.random.Generator,
) -> CameraMeasurement:
    """The camera's detections in the frame exposed at ``truth.t_ns``."""
    n = len(truth)
    visible, boxes = model.visible(truth, sim)
    pd = sim.p_detect * size_factor(boxes[:, 3] - boxes[:, 1], sim.min_box_height_px)
    seen = visible & (rng.random(n) < pd)
    k = int(seen.sum())
    b = boxes[seen] + rng.normal(0.0, sim.pixel_sigma_px, (k, 4))
    classes = truth.classes[seen].copy()
    wrong = (rng.random(k) >= sim.p_class) & np.isin(classes, _CONFUSABLE)
    classes[wrong] = rng.choice(_CONFUSABLE, int(wrong.sum()))
    scores = np.clip(rng.normal(0.85, 0.08, k), 0.35, 1.0)
    fp_boxes, fp_classes, fp_scores = _false_positives(model, sim, rng)
    boxes_out = np.concatenate([b, fp_boxes])
    boxes_out[:, 0] = np.clip(boxes_out[:, 0], 0.0, model.width - 2)
    boxes_out[:, 1] = np.clip(boxes_out[:, 1], 0.0, model.height - 2)
    boxes_out[:, 2] = np.clip(np.maximum(boxes_out[:, 2], boxes_out[:, 0] + 1), 1.0, model.width)
    boxes_out[:, 3] = np.clip(np.maximum(boxes_out[:, 3], boxes_out[:, 1] + 1), 1.0, model.height)
    return CameraMeasurement(
        measured_at_ns=truth.t_ns,
        boxes=boxes_out,
        classes=np.concatenate([classes, fp_classes]).astype(np.int64),
        scores=np.concatenate([scores, fp_scores]),
        truth_ids=np.concatenate([truth.ids[seen], np.full(len(fp_classes), -1, dtype=np.int64)]),
    )


def _false_positives(
    model: CameraModel, sim: CameraSimConfig, rng: np.random.Generator
) -> tuple[FloatArray, IntArray, FloatArray]:
    count = int(rng.poisson(sim.false_positives_per_frame))
    if count == 0:
        return np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros(0)
    e = model.sensor.calibration.extrinsics
    assert e is not None
    half = math.atan2(model.width / 2, model.k[0, 0])
    r = rng.uniform(15.0, model.sensor.max_range_m * 0.7, count)
    a = e.yaw_rad + rng.uniform(-half * 0.8, half * 0.8, count)
    heading = rng.uniform(-math.pi, math.pi, count)
    ghosts = GroundTruth(
        0,
        np.arange(count, dtype=np.int64),
        np.column_stack([e.x_m + r * np.cos(a), e.y_m + r * np.sin(a)]),
        np.zeros((count, 2)),
        heading,
        np.full(count, int(ObjectClass.CAR), dtype=np.int64),
        np.tile([4.5, 1.8, 1.5], (count, 1)),
    )
    boxes, depth = model.project_boxes(ghosts)
    ok = depth > 1.0
    return boxes[ok], ghosts.classes[ok], rng.uniform(0.3, 0.6, int(ok.sum()))
