"""Model checks and provider fallback of the onnxruntime detector; YOLOX-Nano on OpenCV's sample
video agreeing with YOLOX's own reference post-processing; ``vicoop rsu detect``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from roadside.camera import Detector, DetectorConfig, ModelError
from roadside.camera.preprocess import letterbox
from tests.roadside.camera.conftest import fixed_output_model

VICOOP = [sys.executable, "-m", "console.cli"]


def test_bad_model_files_are_one_clear_error_each(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00\x01 not a model \xff" * 10)
    wrong_out = fixed_output_model(tmp_path / "wrong.onnx", np.zeros((1, 10, 10)))
    wrong_in = fixed_output_model(tmp_path / "rank.onnx", np.zeros((1, 84, 7)), (1, 3, 64))
    cases = {
        tmp_path / "missing.onnx": "no such file",
        garbage: "not a usable ONNX model (",
        wrong_out: "output shape (1, 10, 10) fits no known detector layout for a 64x64 input",
        wrong_in: "needs one (1, 3, H, W) image input, has [('images', [1, 3, 64])]",
    }
    for path, message in cases.items():
        with pytest.raises(ModelError) as err:
            Detector.open(DetectorConfig(model=str(path)))
        assert str(err.value).startswith(f"detector model {path}: {message}"), err.value
        assert "\n" not in str(err.value)


def test_a_class_list_of_the_wrong_length_is_an_error(tmp_path: Path) -> None:
    model = fixed_output_model(tmp_path / "v8.onnx", np.zeros((1, 7, 84)))
    names = tmp_path / "names.txt"
    names.write_text("person\ncar\n")
    with pytest.raises(ModelError, match="has 3 classes but its class list has 2 names"):
        Detector.open(DetectorConfig(model=str(model), classes=str(names)))


def test_a_missing_provider_falls_back_to_cpu_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    model = fixed_output_model(tmp_path / "v8.onnx", np.zeros((1, 7, 84)))
    with caplog.at_level(logging.WARNING):
        detector = Detector.open(DetectorConfig(model=str(model), provider="cuda"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "execution provider cuda (CUDAExecutionProvider) is not available" in warnings[0]
    assert warnings[0].endswith("running on cpu")
    assert detector.session.get_providers() == ["CPUExecutionProvider"]
    assert len(detector.detect(np.zeros((48, 64, 3), dtype=np.uint8))) == 0


# ---- YOLOX's reference post-processing ----------------------------------------------------
# Reproduced from Megvii-BaseDetection/YOLOX (Apache-2.0): `preproc` of yolox/data/data_augment.py,
# `demo_postprocess`, `nms` and `multiclass_nms_class_agnostic` of yolox/utils/demo_utils.py, as
# demo/ONNXRuntime/onnx_inference.py chains them (multiclass_nms' default is class-agnostic).


def ref_preproc(img: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, float]:
    padded = np.ones((input_size[0], input_size[1], 3), dtype=np.uint8) * 114
    r = min(input_size[0] / img.shape[0], input_size[1] / img.shape[1])
    resized = cv2.resize(
        img, (int(img.shape[1] * r), int(img.shape[0] * r)), interpolation=cv2.INTER_LINEAR
    ).astype(np.uint8)
    padded[: int(img.shape[0] * r), : int(img.shape[1] * r)] = resized
    return np.ascontiguousarray(padded.transpose(2, 0, 1), dtype=np.float32), r


def ref_demo_postprocess(outputs: np.ndarray, img_size: tuple[int, int]) -> np.ndarray:
    grids, expanded = [], []
    for stride in (8, 16, 32):
        hsize, wsize = img_size[0] // stride, img_size[1] // stride
        xv, yv = np.meshgrid(np.arange(wsize), np.arange(hsize))
        grid = np.stack((xv, yv), 2).reshape(1, -1, 2)
        grids.append(grid)
        expanded.append(np.full((*grid.shape[:2], 1), stride))
    g, s = np.concatenate(grids, 1), np.concatenate(expanded, 1)
    outputs[..., :2] = (outputs[..., :2] + g) * s
    outputs[..., 2:4] = np.exp(outputs[..., 2:4]) * s
    return outputs


def ref_nms(boxes: np.ndarray, scores: np.ndarray, nms_thr: float) -> list[int]:
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        xx1, yy1 = np.maximum(x1[i], x1[order[1:]]), np.maximum(y1[i], y1[order[1:]])
        xx2, yy2 = np.minimum(x2[i], x2[order[1:]]), np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1 + 1) * np.maximum(0.0, yy2 - yy1 + 1)
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= nms_thr)[0] + 1]
    return keep


def ref_multiclass_nms(
    boxes: np.ndarray, scores: np.ndarray, nms_thr: float, score_thr: float
) -> np.ndarray:
    cls_inds = scores.argmax(1)
    cls_scores = scores[np.arange(len(cls_inds)), cls_inds]
    valid = cls_scores > score_thr
    if valid.sum() == 0:
        return np.zeros((0, 6))
    vs, vb, vc = cls_scores[valid], boxes[valid], cls_inds[valid]
    keep = ref_nms(vb, vs, nms_thr)
    return np.concatenate([vb[keep], vs[keep, None], vc[keep, None]], 1)


def reference(session: ort.InferenceSession, img: np.ndarray) -> np.ndarray:
    x, ratio = ref_preproc(img, (416, 416))
    out = session.run(None, {session.get_inputs()[0].name: x[None]})[0]
    pred = ref_demo_postprocess(out, (416, 416))[0]
    boxes, scores = pred[:, :4], pred[:, 4:5] * pred[:, 5:]
    xyxy = np.ones_like(boxes)
    xyxy[:, 0], xyxy[:, 1] = boxes[:, 0] - boxes[:, 2] / 2.0, boxes[:, 1] - boxes[:, 3] / 2.0
    xyxy[:, 2], xyxy[:, 3] = boxes[:, 0] + boxes[:, 2] / 2.0, boxes[:, 1] + boxes[:, 3] / 2.0
    xyxy /= ratio
    return ref_multiclass_nms(xyxy, scores, nms_thr=0.45, score_thr=0.1)


def test_yolox_nano_on_vtest_agrees_with_yoloxs_reference(yolox_nano: Path, vtest: Path) -> None:
    session = ort.InferenceSession(str(yolox_nano), providers=["CPUExecutionProvider"])
    detector = Detector.open(
        DetectorConfig(model=str(yolox_nano), score_threshold=0.1, nms_iou=0.45)
    )
    assert detector.layout.name == "yolox"  # told from the output's shape
    video = cv2.VideoCapture(str(vtest))
    seen = 0
    try:
        for _ in range(20):
            ok, img = video.read()
            assert ok
            ref = reference(session, img)
            ref = ref[np.argsort(-ref[:, 4], kind="stable")]
            mine = detector.detect(img)
            assert len(mine) == len(ref)
            np.testing.assert_allclose(mine.boxes, ref[:, :4], atol=1.0)
            np.testing.assert_array_equal(mine.class_ids, ref[:, 5].astype(np.int64))
            np.testing.assert_allclose(mine.scores, ref[:, 4], atol=1e-4)
            seen += len(mine)
    finally:
        video.release()
    assert seen > 20 * 5  # people and vehicles in every frame


def test_letterbox_matches_yoloxs_preprocessing(vtest: Path) -> None:
    video = cv2.VideoCapture(str(vtest))
    ok, img = video.read()
    video.release()
    assert ok
    canvas, box = letterbox(img, (416, 416), centred=False)
    x, r = ref_preproc(img, (416, 416))
    np.testing.assert_array_equal(canvas.transpose(2, 0, 1).astype(np.float32), x)
    assert (box.scale, box.pad_x, box.pad_y) == (r, 0, 0)


def test_vicoop_rsu_detect_prints_each_frames_detections(
    yolox_nano: Path, vtest: Path, coco_names: Path
) -> None:
    result = subprocess.run(
        [
            *VICOOP,
            "rsu",
            "detect",
            "--model",
            str(yolox_nano),
            "--video",
            str(vtest),
            "--frames",
            "5",
            "--score-threshold",
            "0.4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == ["frames"] and [f["index"] for f in doc["frames"]] == list(range(5))
    detector = Detector.open(DetectorConfig(model=str(yolox_nano), score_threshold=0.4))
    names = coco_names.read_text().split("\n")
    video = cv2.VideoCapture(str(vtest))
    try:
        for frame in doc["frames"]:
            ok, img = video.read()
            assert ok
            mine = detector.detect(img)
            got = frame["detections"]
            assert all(set(d) == {"box_xyxy", "class_name", "score"} for d in got)
            np.testing.assert_allclose([d["box_xyxy"] for d in got], mine.boxes, atol=0.01)
            np.testing.assert_allclose([d["score"] for d in got], mine.scores, atol=1e-5)
            # COCO's names for these (the file's motorbike is the built-in motorcycle)
            assert [d["class_name"] for d in got] == [
                detector.class_names[c] for c in mine.class_ids
            ]
            assert {d["class_name"] for d in got} <= set(names) | {"motorcycle"}
            assert "person" in {d["class_name"] for d in got}
            assert all(0 <= d["box_xyxy"][0] < d["box_xyxy"][2] <= 800 for d in got)
    finally:
        video.release()


def test_vicoop_rsu_detect_with_a_bad_model_is_one_error_line(tmp_path: Path) -> None:
    video = tmp_path / "none.avi"
    result = subprocess.run(
        [
            *VICOOP,
            "rsu",
            "detect",
            "--model",
            str(tmp_path / "no.onnx"),
            "--video",
            str(video),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"vicoop: error: detector model {tmp_path}/no.onnx: no such file"
    )
