"""The camera stage's shared types: a frame's detections and the errors of the pixel pipeline.

::

    RoadsideError
    └── CameraError     a camera's model or stream cannot be used; the message says which and why
        ├── ModelError  the model file is missing, not ONNX, or has inputs/outputs of no known shape
        └── StreamError the video source cannot be opened

Boxes are ``(x1, y1, x2, y2)`` pixels (x right, y down) of the image they were found in: the
network's input for a layout's raw decoding, the camera's own frame after ``Letterbox.to_image``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from roadside.errors import RoadsideError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class CameraError(RoadsideError):
    """A camera's model or video source cannot be used."""


class ModelError(CameraError):
    """A detector model that cannot be used: missing, not ONNX, or of an unknown shape."""


class StreamError(CameraError):
    """A video source that cannot be opened or has ended."""


@dataclass(frozen=True, eq=False)
class Detections:
    """K detections: ``boxes`` (K, 4) xyxy px, ``class_ids`` (K,) indices into the model's class
    list, ``scores`` (K,) in [0, 1]."""

    boxes: FloatArray
    class_ids: IntArray
    scores: FloatArray

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @staticmethod
    def empty() -> Detections:
        return Detections(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros(0))

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Detections:
        """The detections at ``index`` (integer indices or a mask)."""
        return Detections(self.boxes[index], self.class_ids[index], self.scores[index])
