"""A detector's class names and their mapping to the project's ``ObjectClass`` (pure).

A model's class list comes from a file of names (one per line, in the model's class order), else
from the model's own metadata (Ultralytics exports carry ``names``), else, for an 80-class model,
COCO's. ``DEFAULT_CLASS_MAP`` maps the COCO names (both the dataset's spellings and the VOC-style
ones some exports use: motorbike, aeroplane) of road users; every other class (chairs, cups...)
is dropped before fusion.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from roadside.camera.base import ModelError
from vicoop.model import ObjectClass

COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

DEFAULT_CLASS_MAP: Mapping[str, ObjectClass] = {
    "person": ObjectClass.PEDESTRIAN,
    "pedestrian": ObjectClass.PEDESTRIAN,
    "bicycle": ObjectClass.BICYCLE,
    "car": ObjectClass.CAR,
    "motorcycle": ObjectClass.MOTORCYCLE,
    "motorbike": ObjectClass.MOTORCYCLE,
    "bus": ObjectClass.BUS,
    "truck": ObjectClass.TRUCK,
    "van": ObjectClass.VAN,
    # A train on a road camera's image is a tram.
    "train": ObjectClass.TRAM,
    "tram": ObjectClass.TRAM,
    **{
        name: ObjectClass.ANIMAL
        for name in ("cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe")
    },
}


def read_class_names(path: str | Path) -> tuple[str, ...]:
    """The class names in ``path``, one a line (blank lines skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"class names {path}: {exc.strerror or exc}") from None
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def metadata_class_names(metadata: Mapping[str, str]) -> tuple[str, ...] | None:
    """The class names an export put in its metadata (``names``: ``{0: 'person', ...}`` as
    Ultralytics writes it), or None."""
    raw = metadata.get("names")
    if raw is None:
        return None
    try:
        names = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return None
    if isinstance(names, dict) and all(isinstance(k, int) for k in names):
        return tuple(str(names[k]) for k in sorted(names))
    if isinstance(names, list | tuple):
        return tuple(str(n) for n in names)
    return None


class ClassMapper:
    """Model class index -> ``ObjectClass`` value (``-1``: dropped), vectorised.

    ``class_map`` (model class name -> ``ObjectClass``; names compared case-insensitively)
    replaces ``DEFAULT_CLASS_MAP`` when given."""

    def __init__(
        self, names: Sequence[str], class_map: Mapping[str, ObjectClass] | None = None
    ) -> None:
        table = {k.lower(): v for k, v in (class_map or DEFAULT_CLASS_MAP).items()}
        self.names = tuple(names)
        self.lookup: npt.NDArray[np.int64] = np.array(
            [int(table.get(n.lower(), -1)) for n in self.names], dtype=np.int64
        )

    def map(self, class_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The ``ObjectClass`` values of ``class_ids`` (-1 for classes not mapped)."""
        out: npt.NDArray[np.int64] = self.lookup[class_ids]
        return out
