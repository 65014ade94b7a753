"""An ONNX detector run by onnxruntime: a frame in, its detections in the frame's pixels out.

``Detector.open`` checks the model before any frame: a missing file, a file that is not ONNX, an
input that is not one (1, 3, H, W) image, or an output of no known layout (found by one dry run
on a blank image) is one ``ModelError`` naming the file and what is wrong. The execution
provider is chosen by name; one that this onnxruntime does not have falls back to CPU with one
warning naming it.

A frame goes through three pure-ish steps, each timed by ``vicoop bench`` separately:
``preprocess`` (letterbox, tensor), ``infer`` (onnxruntime), ``decode`` (layout decoding, best
class, score threshold, NMS, back to the frame's pixels).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from roadside.camera.base import Detections, ModelError
from roadside.camera.classes import (
    COCO_CLASSES,
    ClassMapper,
    metadata_class_names,
    read_class_names,
)
from roadside.camera.config import DetectorConfig
from roadside.camera.layouts import Layout, best_class, detect_layout
from roadside.camera.nms import nms
from roadside.camera.preprocess import Letterbox, letterbox, to_tensor

log = logging.getLogger(__name__)

PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}


def choose_providers(name: str, available: list[str]) -> tuple[list[str], str | None]:
    """The onnxruntime providers to ask for (``name``'s, then CPU) and, when ``name``'s is not
    among ``available``, the warning saying so."""
    wanted = PROVIDERS[name]
    if wanted == PROVIDERS["cpu"]:
        return [wanted], None
    if wanted not in available:
        return [PROVIDERS["cpu"]], (
            f"execution provider {name} ({wanted}) is not available in this onnxruntime "
            f"(it has {', '.join(available)}); running on cpu"
        )
    return [wanted, PROVIDERS["cpu"]], None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A frame ready for the network: the input tensor and how the frame sits in it."""

    tensor: npt.NDArray[np.float32]
    letterbox: Letterbox


class Detector:
    """One model's session, layout, class names and thresholds; see the module docstring."""

    def __init__(
        self,
        session: ort.InferenceSession,
        config: DetectorConfig,
        input_hw: tuple[int, int],
        layout: Layout,
        class_names: tuple[str, ...],
    ) -> None:
        self.session = session
        self.config = config
        self.input_hw = input_hw
        self.layout = layout
        self.class_names = class_names
        self.mapper = ClassMapper(class_names, config.object_classes())
        self._input_name = session.get_inputs()[0].name

    @classmethod
    def open(cls, config: DetectorConfig) -> Detector:
        """Load and check ``config.model``; ``ModelError`` naming it when it cannot be used."""
        path = Path(config.model)
        where = f"detector model {path}"
        if not path.is_file():
            raise ModelError(f"{where}: no such file")
        providers, warning = choose_providers(config.provider, ort.get_available_providers())
        if warning:
            log.warning("%s: %s", where, warning)
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{where}: not a usable ONNX model ({first[:200]})") from None
        inputs = session.get_inputs()
        shape = tuple(inputs[0].shape) if len(inputs) == 1 else ()
        if len(inputs) != 1 or len(shape) != 4 or shape[1] != 3:
            got = [(i.name, i.shape) for i in inputs]
            raise ModelError(f"{where}: needs one (1, 3, H, W) image input, has {got}")
        if isinstance(shape[2], int) and isinstance(shape[3], int):
            input_hw = (shape[2], shape[3])
        elif config.input_size_px is not None:
            input_hw = (config.input_size_px[1], config.input_size_px[0])
        else:
            raise ModelError(f"{where}: its input size {shape} is not fixed: give input_size_px")
        if len(session.get_outputs()) < 1:
            raise ModelError(f"{where}: has no output")
        blank = np.zeros((1, 3, *input_hw), dtype=np.float32)
        try:
            out = session.run(None, {inputs[0].name: blank})[0]
        except Exception as exc:
            raise ModelError(f"{where}: fails on a blank image ({str(exc)[:200]})") from None
        try:
            layout, n_classes = detect_layout(tuple(np.shape(out)), input_hw, config.layout)
        except ModelError as exc:
            raise ModelError(f"{where}: {exc}") from None
        if config.classes is not None:
            names = read_class_names(config.classes)
        else:
            meta = metadata_class_names(session.get_modelmeta().custom_metadata_map)
            names = meta or (COCO_CLASSES if n_classes == len(COCO_CLASSES) else ())
            names = names or tuple(str(i) for i in range(n_classes))
        if len(names) != n_classes:
            raise ModelError(
                f"{where}: has {n_classes} classes but its class list has {len(names)} names"
            )
        return cls(session, config, input_hw, layout, names)

    def preprocess(self, image: npt.NDArray[np.uint8]) -> Prepared:
        """A BGR frame (h, w, 3) letterboxed into the network's input."""
        canvas, box = letterbox(image, self.input_hw, self.layout.centred)
        return Prepared(to_tensor(canvas, self.layout.rgb, self.layout.unit_range), box)

    def infer(self, prepared: Prepared) -> npt.NDArray[np.float32]:
        """The network's (first) output for one prepared frame."""
        out: npt.NDArray[np.float32] = self.session.run(None, {self._input_name: prepared.tensor})[
            0
        ]
        return out

    def decode(self, output: npt.NDArray[np.float32], box: Letterbox) -> Detections:
        """The detections in ``output``, boxes in the frame's pixels, best score first."""
        boxes, class_scores = self.layout.decode(output, self.input_hw)
        boxes, ids, scores = best_class(boxes, class_scores, self.config.score_threshold)
        boxes = box.to_image(boxes)
        keep = nms(
            boxes,
            scores,
            ids,
            self.config.nms_iou,
            self.config.class_agnostic_nms,
            self.layout.nms_pixel_offset,
        )
        return Detections(boxes, ids, scores).take(keep)

    def detect(self, image: npt.NDArray[np.uint8]) -> Detections:
        """``preprocess``, ``infer`` and ``decode`` one BGR frame."""
        prepared = self.preprocess(image)
        return self.decode(self.infer(prepared), prepared.letterbox)
