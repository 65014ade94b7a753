"""Camera detections as JSON over UDP: one datagram, one UTF-8 JSON object, one frame.

Written by the detector of a later issue or by an external one::

    {"v": 1, "sensor_id": "cam-1", "frame": 1234, "t_ns": 1700000000123456789,
     "boxes": [{"box": [u0, v0, u1, v1], "class": "car", "score": 0.91}, ...]}

- ``v``: format version, 1.
- ``sensor_id``: the camera's id in the RSU configuration.
- ``frame``: frame counter, an integer in [0, 2^63); counts up by one per frame.
- ``t_ns``: when the image was exposed, ns since the Unix epoch (UTC), an integer.
- ``boxes``: detections, each ``box`` in pixels of the (distorted) image with u0 < u1 and
  v0 < v1 (u right, v down); ``class`` an ``ObjectClass`` name, case-insensitive ("car",
  "pedestrian", ...) or its integer value; ``score`` the detector's confidence in [0, 1].

An empty ``boxes`` list is a frame in which nothing was seen (it still counts as the camera
being alive). Anything else -- invalid JSON or UTF-8, missing or mistyped fields, another
sensor's id, non-finite numbers, a box with u0 >= u1 -- is rejected with a reason, as are
repeated and older frame numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from roadside.ingest.base import CameraFrame, Decoder, ParseError, int_field, json_object
from vicoop.model import ObjectClass

VERSION = 1
MAX_DATAGRAM = 65507
_CLASS_NAMES = {c.name.lower(): int(c) for c in ObjectClass}
_CLASS_VALUES = {int(c) for c in ObjectClass}


def encode(
    sensor_id: str,
    frame: int,
    measured_at_ns: int,
    boxes: np.ndarray | Sequence[Sequence[float]],
    classes: Sequence[int | str],
    scores: Sequence[float],
) -> bytes:
    """One datagram in this format (``classes`` as names or ``ObjectClass`` values)."""
    items = [
        {
            "box": [
                round(float(b[0]), 2),
                round(float(b[1]), 2),
                round(float(b[2]), 2),
                round(float(b[3]), 2),
            ],
            "class": c if isinstance(c, str) else ObjectClass(int(c)).name.lower(),
            "score": round(float(s), 4),
        }
        for b, c, s in zip(boxes, classes, scores, strict=True)
    ]
    doc = {
        "v": VERSION,
        "sensor_id": sensor_id,
        "frame": frame,
        "t_ns": measured_at_ns,
        "boxes": items,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _class(v: Any) -> int:
    if isinstance(v, str) and v.lower() in _CLASS_NAMES:
        return _CLASS_NAMES[v.lower()]
    if type(v) is int and v in _CLASS_VALUES:
        return v
    raise ParseError("bad_class", repr(v)[:40])


class JsonCameraDecoder(Decoder[CameraFrame]):
    """Decodes frames of the camera ``sensor_id``."""

    def __init__(self, sensor_id: str) -> None:
        self.sensor_id = sensor_id

    def decode(self, data: bytes) -> CameraFrame:
        doc = json_object(data, VERSION)
        if doc.get("sensor_id") != self.sensor_id:
            raise ParseError("unknown_sensor", repr(doc.get("sensor_id"))[:40])
        frame, t_ns = int_field(doc, "frame"), int_field(doc, "t_ns")
        if not 0 <= frame < 1 << 63:
            raise ParseError("bad_field", "frame out of range")
        if not 0 < t_ns < 1 << 63:
            raise ParseError("bad_time", str(t_ns))
        items = doc.get("boxes")
        if not isinstance(items, list):
            raise ParseError("bad_field", "boxes must be a list")
        boxes = np.zeros((len(items), 4))
        classes = np.zeros(len(items), dtype=np.int64)
        scores = np.zeros(len(items))
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ParseError("bad_box", "not an object")
            box: Any = item.get("box")
            score: Any = item.get("score")
            if (
                not isinstance(box, list)
                or len(box) != 4
                or not all(type(x) in (int, float) and math.isfinite(x) for x in box)
            ):
                raise ParseError("bad_box", "box must be 4 finite numbers")
            if not (box[0] < box[2] and box[1] < box[3]):
                raise ParseError("bad_box", "need u0 < u1 and v0 < v1")
            if type(score) not in (int, float) or not 0.0 <= score <= 1.0:
                raise ParseError("bad_box", "score must be in [0, 1]")
            boxes[i] = box
            classes[i] = _class(item.get("class"))
            scores[i] = score
        return CameraFrame(self.sensor_id, frame, t_ns, boxes, classes, scores)
