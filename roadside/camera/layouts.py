"""Output layouts of the common single-stage detector exports, decoded into candidate boxes and
per-class scores (pure, vectorised), and which layout an output's shape is.

For an input of H x W px and the strides 8, 16, 32 there are G = sum (H // s) (W // s) grid
cells; with C classes:

- ``yolox`` (Megvii YOLOX, ``tools/export_onnx.py``): (1, G, 5 + C) per cell: x, y offsets from
  the cell and log w, h, all in units of the cell's stride; objectness; C class scores. The
  decoding is YOLOX's ``demo_postprocess``: centre = (offset + cell) * stride, size =
  exp(log size) * stride; a class's score is objectness times its class score. BGR input, 0-255,
  letterboxed at the top-left.
- ``yolov8`` (Ultralytics YOLOv8 and YOLO11 ``export format=onnx``): (1, 4 + C, G): centre x, y,
  w, h in input px, then C class scores; no objectness. RGB input in [0, 1], letterbox centred.
- ``yolov5`` (Ultralytics YOLOv5 ``export.py``): (1, 3 G, 5 + C), three anchors per cell:
  centre x, y, w, h in input px, objectness, C class scores. RGB in [0, 1], letterbox centred.

``detect_layout`` tells them apart by the output's shape; a shape none of them has is a
``ModelError`` naming it and what each layout would be.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from roadside.camera.base import FloatArray, ModelError

STRIDES = (8, 16, 32)

Decode = Callable[[npt.NDArray[np.float32], tuple[int, int]], tuple[FloatArray, FloatArray]]


def grid_cells(input_hw: tuple[int, int], strides: tuple[int, ...] = STRIDES) -> int:
    """G: the number of grid cells over all strides of an H x W input."""
    h, w = input_hw
    return sum((h // s) * (w // s) for s in strides)


@functools.lru_cache(maxsize=8)
def _grid(input_hw: tuple[int, int]) -> tuple[FloatArray, FloatArray]:
    """Per cell (G rows), its (column, row) index and its stride, in YOLOX's order."""
    h, w = input_hw
    cells, strides = [], []
    for s in STRIDES:
        xv, yv = np.meshgrid(np.arange(w // s), np.arange(h // s))
        cells.append(np.stack([xv, yv], axis=2).reshape(-1, 2))
        strides.append(np.full((cells[-1].shape[0], 1), s))
    return np.concatenate(cells).astype(np.float64), np.concatenate(strides).astype(np.float64)


def cxcywh_to_xyxy(b: FloatArray) -> FloatArray:
    half = b[:, 2:4] / 2.0
    return np.concatenate([b[:, 0:2] - half, b[:, 0:2] + half], axis=1)


def decode_yolox(
    output: npt.NDArray[np.float32], input_hw: tuple[int, int]
) -> tuple[FloatArray, FloatArray]:
    """(1, G, 5 + C) raw YOLOX output -> (G, 4) xyxy boxes in input px, (G, C) class scores."""
    out = output[0].astype(np.float64)
    cells, strides = _grid(input_hw)
    centre = (out[:, 0:2] + cells) * strides
    size = np.exp(out[:, 2:4]) * strides
    boxes = cxcywh_to_xyxy(np.concatenate([centre, size], axis=1))
    return boxes, out[:, 4:5] * out[:, 5:]


def decode_yolov8(
    output: npt.NDArray[np.float32], input_hw: tuple[int, int]
) -> tuple[FloatArray, FloatArray]:
    """(1, 4 + C, G) -> (G, 4) xyxy boxes in input px, (G, C) class scores."""
    out = output[0].T.astype(np.float64)
    return cxcywh_to_xyxy(out[:, 0:4]), out[:, 4:]


def decode_yolov5(
    output: npt.NDArray[np.float32], input_hw: tuple[int, int]
) -> tuple[FloatArray, FloatArray]:
    """(1, 3 G, 5 + C) -> (3 G, 4) xyxy boxes in input px, (3 G, C) class scores."""
    out = output[0].astype(np.float64)
    return cxcywh_to_xyxy(out[:, 0:4]), out[:, 4:5] * out[:, 5:]


@dataclass(frozen=True, slots=True)
class Layout:
    """One export layout: its decoding, its preprocessing and the output shape it has.

    ``rgb``: the network takes RGB (else BGR); ``unit_range``: pixel values in [0, 1] (else 0-255);
    ``centred``: the letterbox is centred (else at the top-left). ``nms_pixel_offset``: see
    ``roadside.camera.nms``."""

    name: str
    decode: Decode
    rgb: bool
    unit_range: bool
    centred: bool
    # (shape of the output, input H x W) -> the number of classes, or None if the shape is not it.
    classes_of: Callable[[tuple[int, ...], tuple[int, int]], int | None]
    expects: str
    # The box convention of the layout's reference NMS (``roadside.camera.nms``).
    nms_pixel_offset: float = 0.0

    def num_classes(self, shape: tuple[int, ...], input_hw: tuple[int, int]) -> int | None:
        return self.classes_of(shape, input_hw)


def _rows(anchors: int, extra: int) -> Callable[[tuple[int, ...], tuple[int, int]], int | None]:
    def classes_of(shape: tuple[int, ...], input_hw: tuple[int, int]) -> int | None:
        if len(shape) == 3 and shape[0] == 1 and shape[1] == anchors * grid_cells(input_hw):
            return shape[2] - extra if shape[2] > extra else None
        return None

    return classes_of


def _columns(shape: tuple[int, ...], input_hw: tuple[int, int]) -> int | None:
    if len(shape) == 3 and shape[0] == 1 and shape[2] == grid_cells(input_hw) and shape[1] > 4:
        return shape[1] - 4
    return None


LAYOUTS: dict[str, Layout] = {
    "yolox": Layout("yolox", decode_yolox, False, False, False, _rows(1, 5), "(1, G, 5 + C)", 1.0),
    "yolov8": Layout("yolov8", decode_yolov8, True, True, True, _columns, "(1, 4 + C, G)"),
    "yolov5": Layout("yolov5", decode_yolov5, True, True, True, _rows(3, 5), "(1, 3 G, 5 + C)"),
}
"""The layouts by name (``layout:`` in a pixel camera's configuration; ``auto`` detects)."""


def detect_layout(
    shape: tuple[int, ...], input_hw: tuple[int, int], name: str = "auto"
) -> tuple[Layout, int]:
    """The layout (``name``, or the one whose shape ``shape`` is when ``auto``) and the number of
    classes; ``ModelError`` naming the shape when it fits none (or not the one named)."""
    candidates = list(LAYOUTS.values()) if name == "auto" else [LAYOUTS[name]]
    for layout in candidates:
        n = layout.num_classes(shape, input_hw)
        if n is not None:
            return layout, n
    g = grid_cells(input_hw)
    wanted = "; ".join(f"{lay.name} {lay.expects}" for lay in candidates)
    raise ModelError(
        f"output shape {tuple(shape)} fits no known detector layout for a "
        f"{input_hw[0]}x{input_hw[1]} input (G = {g} grid cells at strides 8, 16, 32): "
        f"expected {wanted}"
    )


def best_class(
    boxes: FloatArray, class_scores: FloatArray, score_threshold: float
) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray]:
    """Each candidate's best class and its score; those scoring above ``score_threshold`` only."""
    ids = class_scores.argmax(axis=1)
    scores = np.take_along_axis(class_scores, ids[:, None], axis=1)[:, 0]
    keep = scores > score_threshold
    return boxes[keep], ids[keep].astype(np.int64), scores[keep]
