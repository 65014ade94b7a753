"""Letterboxing: a camera frame scaled to fit a detector's input without changing its aspect
ratio, the rest padded (pure).

The frame is scaled by ``r = min(H / h, W / w)`` to ``(floor(w r), floor(h r))`` px and placed at
the input's top-left corner (as YOLOX trains and exports) or in its middle (as Ultralytics'
YOLOv5/v8/11 do); ``Letterbox`` maps points between the frame's pixels and the input's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from roadside.camera.base import FloatArray

PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Input pixel = frame pixel * ``scale`` + (``pad_x``, ``pad_y``)."""

    scale: float
    pad_x: int
    pad_y: int

    def to_input(self, boxes: FloatArray) -> FloatArray:
        """(K, 4) xyxy boxes (or (K, 2) points) from frame pixels to input pixels."""
        pad = np.resize(np.array([self.pad_x, self.pad_y], dtype=np.float64), boxes.shape[-1])
        out: FloatArray = boxes * self.scale + pad
        return out

    def to_image(self, boxes: FloatArray) -> FloatArray:
        """(K, 4) xyxy boxes (or (K, 2) points) from input pixels back to frame pixels."""
        pad = np.resize(np.array([self.pad_x, self.pad_y], dtype=np.float64), boxes.shape[-1])
        out: FloatArray = (boxes - pad) / self.scale
        return out


def letterbox(
    image: npt.NDArray[np.uint8],
    input_hw: tuple[int, int],
    centred: bool,
    pad_value: int = PAD_VALUE,
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """``image`` (h, w, 3) scaled (bilinear) onto an (H, W, 3) canvas of ``pad_value``."""
    h, w = image.shape[:2]
    in_h, in_w = input_hw
    r = min(in_h / h, in_w / w)
    new_w, new_h = max(1, int(w * r)), max(1, int(h * r))
    pad_x, pad_y = ((in_w - new_w) // 2, (in_h - new_h) // 2) if centred else (0, 0)
    canvas = np.full((in_h, in_w, 3), pad_value, dtype=np.uint8)
    resized = (
        image
        if (new_w, new_h) == (w, h)
        else cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    )
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return canvas, Letterbox(r, pad_x, pad_y)


def to_tensor(
    canvas: npt.NDArray[np.uint8], rgb: bool, unit_range: bool
) -> npt.NDArray[np.float32]:
    """An (H, W, 3) BGR canvas as the (1, 3, H, W) float32 input tensor: channels swapped to RGB
    when ``rgb``, values scaled to [0, 1] when ``unit_range`` (else 0-255)."""
    x = canvas[:, :, ::-1] if rgb else canvas
    t = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
    if unit_range:
        t *= np.float32(1.0 / 255.0)
    return t
