"""Camera pixels on the edge: frames from OpenCV, letterboxed into an ONNX detector run by
onnxruntime, its output decoded by layout (YOLOX, YOLOv8/11, YOLOv5), NMS, classes mapped to
``ObjectClass``, and the boxes handed to the fusion as camera frames (``PixelCamera``).

Stages, one module each: ``capture`` (I/O edge, newest frame wins), ``preprocess`` (letterbox),
``detector`` (onnxruntime), ``layouts`` (decoding), ``nms``, ``classes``; ``pipeline`` joins them.
"""

from __future__ import annotations

from roadside.camera.base import CameraError, Detections, ModelError, StreamError
from roadside.camera.capture import Capture, CapturedFrame, CaptureState, LatestFrame
from roadside.camera.config import DetectorConfig, PixelsInputConfig
from roadside.camera.detector import Detector
from roadside.camera.layouts import LAYOUTS, Layout, detect_layout
from roadside.camera.pipeline import PixelCamera

__all__ = [
    "LAYOUTS",
    "CameraError",
    "Capture",
    "CaptureState",
    "CapturedFrame",
    "Detections",
    "Detector",
    "DetectorConfig",
    "LatestFrame",
    "Layout",
    "ModelError",
    "PixelCamera",
    "PixelsInputConfig",
    "StreamError",
    "detect_layout",
]
