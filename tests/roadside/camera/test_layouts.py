"""Each output layout decoded by the detector from a small ONNX graph with known boxes in it
(through onnxruntime, as in the field), and the layout told from the output's shape."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from roadside.camera import Detector, DetectorConfig, ModelError, detect_layout
from roadside.camera.layouts import grid_cells
from tests.roadside.camera.conftest import fixed_output_model

# A 128 x 96 frame into a 64 x 64 input: scale 0.5, 64 x 48 px of picture, 8 px of padding above
# and below when centred (YOLOv5/v8), all 16 px below when at the top-left (YOLOX).
FRAME = np.zeros((96, 128, 3), dtype=np.uint8)
INPUT_HW = (64, 64)
G = grid_cells(INPUT_HW)  # 8*8 + 4*4 + 2*2 = 84
NAMES = ("person", "car", "chair")

# Boxes in input pixels (centre x, centre y, w, h), class, score.
CAR = ((20.0, 30.0, 10.0, 16.0), 1, 0.9)
CAR_AGAIN = ((21.0, 30.0, 10.0, 16.0), 1, 0.6)  # overlaps CAR: suppressed
PERSON = ((50.0, 40.0, 8.0, 8.0), 0, 0.7)
CHAIR = ((40.0, 20.0, 6.0, 6.0), 2, 0.8)


def frame_box(cxcywh: tuple[float, ...], pad_y: float) -> list[float]:
    cx, cy, w, h = cxcywh
    return [
        (cx - w / 2) / 0.5,
        (cy - h / 2 - pad_y) / 0.5,
        (cx + w / 2) / 0.5,
        (cy + h / 2 - pad_y) / 0.5,
    ]


def names_file(tmp_path: Path) -> str:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n")
    return str(path)


def check(detector: Detector, pad_y: float) -> None:
    found = detector.detect(FRAME)
    expected = [CAR, CHAIR, PERSON]  # best score first, CAR_AGAIN suppressed
    assert found.class_ids.tolist() == [c for _, c, _ in expected]
    np.testing.assert_allclose(found.scores, [s for _, _, s in expected], atol=1e-6)
    np.testing.assert_allclose(
        found.boxes, [frame_box(b, pad_y) for b, _, _ in expected], atol=1e-4
    )
    # The class map keeps the road users only.
    assert detector.mapper.map(found.class_ids).tolist() == [5, -1, 2]


def test_yolov8_columns_of_centre_size_and_class_scores(tmp_path: Path) -> None:
    out = np.zeros((1, 4 + len(NAMES), G), dtype=np.float32)
    for col, (box, cls, score) in zip(
        (5, 40, 70, 83), (CAR, CAR_AGAIN, PERSON, CHAIR), strict=True
    ):
        out[0, 0:4, col] = box
        out[0, 4 + cls, col] = score
    meta = {"names": "{0: 'person', 1: 'car', 2: 'chair'}"}  # as Ultralytics writes it
    model = fixed_output_model(tmp_path / "v8.onnx", out, metadata=meta)
    detector = Detector.open(DetectorConfig(model=str(model)))
    assert (detector.layout.name, detector.class_names) == ("yolov8", NAMES)
    check(detector, pad_y=8.0)


def test_yolov5_rows_with_objectness_three_anchors_a_cell(tmp_path: Path) -> None:
    out = np.zeros((1, 3 * G, 5 + len(NAMES)), dtype=np.float32)
    for row, (box, cls, score) in zip(
        (5, 100, 170, 251), (CAR, CAR_AGAIN, PERSON, CHAIR), strict=True
    ):
        out[0, row, 0:4] = box
        out[0, row, 4] = 0.5 if cls == 0 else 1.0  # the score is objectness x class score
        out[0, row, 5 + cls] = score / out[0, row, 4]
    model = fixed_output_model(tmp_path / "v5.onnx", out)
    detector = Detector.open(DetectorConfig(model=str(model), classes=names_file(tmp_path)))
    assert detector.layout.name == "yolov5"
    check(detector, pad_y=8.0)


def yolox_row(cxcywh: tuple[float, ...], stride: int) -> tuple[int, list[float]]:
    """The row of the cell holding the box's centre at ``stride``, and its raw values."""
    cx, cy, w, h = cxcywh
    col, row = int(cx // stride), int(cy // stride)
    first = sum((64 // s) ** 2 for s in (8, 16, 32) if s < stride)
    index = first + row * (64 // stride) + col
    return index, [cx / stride - col, cy / stride - row, math.log(w / stride), math.log(h / stride)]


def test_yolox_grid_relative_offsets_and_log_sizes(tmp_path: Path) -> None:
    out = np.zeros((1, G, 5 + len(NAMES)), dtype=np.float32)
    for (box, cls, score), stride in zip(
        (CAR, CAR_AGAIN, PERSON, CHAIR), (8, 16, 16, 32), strict=True
    ):
        index, raw = yolox_row(box, stride)
        out[0, index, 0:4] = raw
        out[0, index, 4] = 0.8
        out[0, index, 5 + cls] = score / 0.8
    model = fixed_output_model(tmp_path / "yolox.onnx", out)
    config = DetectorConfig(model=str(model), classes=names_file(tmp_path), layout="yolox")
    detector = Detector.open(config)
    check(detector, pad_y=0.0)


def test_per_class_nms_keeps_overlapping_boxes_of_different_classes(tmp_path: Path) -> None:
    out = np.zeros((1, 4 + len(NAMES), G), dtype=np.float32)
    out[0, 0:4, 1] = out[0, 0:4, 2] = CAR[0]
    out[0, 4 + 1, 1], out[0, 4 + 0, 2] = 0.9, 0.8  # one box taken for a car and a person
    model = str(fixed_output_model(tmp_path / "v8.onnx", out, metadata={"names": str(list(NAMES))}))
    assert len(Detector.open(DetectorConfig(model=model)).detect(FRAME)) == 1
    aware = Detector.open(DetectorConfig(model=model, class_agnostic_nms=False))
    assert aware.detect(FRAME).class_ids.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("shape", "input_hw", "name", "classes"),
    [
        ((1, 3549, 85), (416, 416), "yolox", 80),
        ((1, 8400, 85), (640, 640), "yolox", 80),
        ((1, 84, 8400), (640, 640), "yolov8", 80),
        ((1, 6, 8400), (640, 640), "yolov8", 2),
        ((1, 25200, 85), (640, 640), "yolov5", 80),
        ((1, 10647, 10), (416, 416), "yolov5", 5),
    ],
)
def test_the_layout_is_told_from_the_output_shape(
    shape: tuple[int, ...], input_hw: tuple[int, int], name: str, classes: int
) -> None:
    layout, n = detect_layout(shape, input_hw)
    assert (layout.name, n) == (name, classes)


def test_a_shape_of_no_layout_is_an_error_naming_it() -> None:
    with pytest.raises(ModelError) as err:
        detect_layout((1, 100, 7), (416, 416))
    assert str(err.value).startswith(
        "output shape (1, 100, 7) fits no known detector layout for a 416x416 input (G = 3549"
    )
    assert "yolox (1, G, 5 + C); yolov8 (1, 4 + C, G); yolov5 (1, 3 G, 5 + C)" in str(err.value)
    with pytest.raises(ModelError, match=r"\(1, 3549, 85\) fits no known .* expected yolov8"):
        detect_layout((1, 3549, 85), (416, 416), "yolov8")
