"""Greedy non-maximum suppression, vectorised: the pairwise IoU of the candidates at once, then
one pass over them best score first.

``pixel_offset`` is the box convention of the layout's own reference post-processing: YOLOX's
``demo_utils.nms`` counts a box's width as ``x2 - x1 + 1`` (integer pixels, inclusive), torchvision
(Ultralytics) as ``x2 - x1``; using the same one keeps the same boxes at the IoU threshold.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from roadside.camera.base import FloatArray

# At most this many candidates (the best-scoring) go into NMS: its cost grows as their square.
MAX_CANDIDATES = 1000


def pairwise_iou(boxes: FloatArray, pixel_offset: float = 0.0) -> FloatArray:
    """(K, K) IoU of (K, 4) xyxy boxes."""
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    area = (x2 - x1 + pixel_offset) * (y2 - y1 + pixel_offset)
    w = np.minimum(x2[:, None], x2[None]) - np.maximum(x1[:, None], x1[None]) + pixel_offset
    h = np.minimum(y2[:, None], y2[None]) - np.maximum(y1[:, None], y1[None]) + pixel_offset
    inter = np.maximum(w, 0.0) * np.maximum(h, 0.0)
    union = area[:, None] + area[None] - inter
    out: FloatArray = inter / np.maximum(union, 1e-12)
    return out


def nms(
    boxes: FloatArray,
    scores: FloatArray,
    class_ids: npt.NDArray[np.int64],
    iou_threshold: float,
    class_agnostic: bool = True,
    pixel_offset: float = 0.0,
) -> npt.NDArray[np.intp]:
    """Indices of the boxes kept, best score first: a box overlapping a better-scoring kept one
    by IoU above ``iou_threshold`` (of the same class unless ``class_agnostic``) is dropped."""
    order = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
    k = order.shape[0]
    if k == 0:
        return order.astype(np.intp)
    overlaps = pairwise_iou(boxes[order], pixel_offset) > iou_threshold
    if not class_agnostic:
        ids = class_ids[order]
        overlaps &= ids[:, None] == ids[None]
    suppressed = np.zeros(k, dtype=bool)
    keep = np.zeros(k, dtype=bool)
    for i in range(k):
        if not suppressed[i]:
            keep[i] = True
            suppressed |= overlaps[i]
    return order[keep].astype(np.intp)
