"""Small detector graphs built with ``onnx`` (a fixed output, whatever the image), and the real
model and video of the shared test data where they are present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

SHARED = Path(__file__).resolve().parents[4] / "shared"
YOLOX_NANO = SHARED / "models" / "yolox_nano.onnx"
COCO_NAMES = SHARED / "models" / "coco_classes.txt"
VTEST = SHARED / "data" / "vtest.avi"


def fixed_output_model(
    path: Path,
    output: np.ndarray,
    input_shape: tuple[int | str, ...] = (1, 3, 64, 64),
    metadata: dict[str, str] | None = None,
) -> Path:
    """An ONNX model at ``path`` whose one output is ``output`` for any image: output =
    const + 0 * mean(image), so the image still flows through the graph."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, list(output.shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["const", "nothing"], ["output"]),
    ]
    inits = [
        numpy_helper.from_array(output.astype(np.float32), "const"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
    ]
    graph = helper.make_graph(nodes, "fixed", [image], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def yolox_nano() -> Path:
    if not YOLOX_NANO.is_file():
        pytest.skip(f"the YOLOX-Nano test model is not at {YOLOX_NANO}")
    return YOLOX_NANO


@pytest.fixture
def vtest() -> Path:
    if not VTEST.is_file():
        pytest.skip(f"OpenCV's sample video is not at {VTEST}")
    return VTEST


@pytest.fixture
def coco_names() -> Path:
    if not COCO_NAMES.is_file():
        pytest.skip(f"the COCO class list is not at {COCO_NAMES}")
    return COCO_NAMES
