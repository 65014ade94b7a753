"""Configuration of a camera on pixels: the detector (model, layout, classes, execution
provider, thresholds) and the video source it reads (``input: {kind: pixels, ...}`` of a camera in
``source.cameras``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vicoop.config import StrictModel
from vicoop.model import ObjectClass

LayoutName = Literal["auto", "yolox", "yolov8", "yolov5"]
ProviderName = Literal["cpu", "cuda", "tensorrt", "openvino"]
_CLASS_NAMES = {c.name.lower() for c in ObjectClass if c is not ObjectClass.UNSPECIFIED}


class DetectorConfig(StrictModel):
    """An ONNX detector and how its output is read.

    ``model``: path of the ``.onnx`` file. ``layout``: its output layout (``roadside.camera.layouts``:
    yolox, yolov8 for YOLOv8 and YOLO11, yolov5), ``auto`` to tell it from the output's shape.
    ``classes``: a file of the model's class names, one a line, in its class order (None: the
    model's metadata, or COCO's 80 for an 80-class model). ``class_map``: model class name ->
    ``ObjectClass`` name (pedestrian, bicycle, car, ...), replacing the COCO default
    (``roadside.camera.classes.DEFAULT_CLASS_MAP``); classes not in it are dropped.
    ``provider``: the onnxruntime execution provider (falls back to cpu, with one warning, where it
    is not installed); ``threads``: onnxruntime's intra-op threads. ``score_threshold``: candidates
    scoring at most this are dropped before NMS; ``nms_iou``: NMS' IoU threshold, across classes
    when ``class_agnostic_nms`` (one box per object, whatever class it is taken for).
    ``input_size_px``: (width, height) for a model whose input size is not fixed."""

    model: str = Field(min_length=1)
    layout: LayoutName = "auto"
    classes: str | None = None
    class_map: dict[str, str] | None = None
    provider: ProviderName = "cpu"
    threads: int = Field(default=1, ge=1, le=256)
    score_threshold: float = Field(default=0.3, ge=0, lt=1)
    nms_iou: float = Field(default=0.45, gt=0, le=1)
    class_agnostic_nms: bool = True
    input_size_px: tuple[int, int] | None = None

    @field_validator("class_map")
    @classmethod
    def _class_names(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return None
        bad = sorted(c for c in v.values() if c.lower() not in _CLASS_NAMES)
        if bad:
            raise ValueError(f"unknown classes {bad}; use {sorted(_CLASS_NAMES)}")
        return {k: c.lower() for k, c in v.items()}

    @field_validator("input_size_px")
    @classmethod
    def _size(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not all(32 <= s <= 8192 and s % 32 == 0 for s in v):
            raise ValueError("width and height must be multiples of 32 in 32..8192")
        return v

    def object_classes(self) -> dict[str, ObjectClass] | None:
        """``class_map`` with ``ObjectClass`` values."""
        if self.class_map is None:
            return None
        return {k: ObjectClass[c.upper()] for k, c in self.class_map.items()}


class PixelsInputConfig(DetectorConfig):
    """Frames from OpenCV, detected on this RSU: ``url`` is a video file, an ``rtsp://`` or
    ``http(s)://`` stream, a V4L2 device (``/dev/video0``) or a device index (``0``).

    A stream or device that fails or ends is reopened after the kernel's backoff
    (``reconnect_initial_s`` doubling up to ``reconnect_max_s``); a file that ends stays ended.
    ``realtime_file``: a file plays at its own frame rate, as a camera would deliver it (else as
    fast as it decodes). ``open_timeout_s``: how long opening or reading a stream may block."""

    kind: Literal["pixels"] = "pixels"
    url: str = Field(min_length=1)
    realtime_file: bool = True
    open_timeout_s: float = Field(default=5.0, gt=0, le=300)
    reconnect_initial_s: float = Field(default=0.5, gt=0, le=60)
    reconnect_max_s: float = Field(default=10.0, gt=0, le=600)

    @model_validator(mode="after")
    def _backoff(self) -> PixelsInputConfig:
        if self.reconnect_initial_s > self.reconnect_max_s:
            raise ValueError("reconnect_initial_s must not be more than reconnect_max_s")
        return self
