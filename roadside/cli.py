"""``vicoop rsu …``: run and configure a roadside unit."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from roadside.config import RsuConfig
from vicoop import config as config_io


def load_config(path: str | None) -> RsuConfig:
    """The configuration in ``path``, or the embedded defaults when None."""
    return RsuConfig() if path is None else config_io.load(RsuConfig, path)


def _run(args: argparse.Namespace) -> int:
    from roadside.daemon import serve

    config = load_config(args.config)
    if args.port is not None:
        config = config.model_copy(
            update={"server": config.server.model_copy(update={"port": args.port})}
        )
    asyncio.run(serve(config))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(json.dumps(config.model_dump(), indent=2))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from roadside.calibration import fit_homography, read_survey
    from roadside.calibration.camera import camera_matrix
    from roadside.sources.fused_config import SensorsSourceConfig
    from vicoop.errors import ConfigError

    config = load_config(args.config)
    k = dist = None
    if args.camera is not None:
        source = config.source
        cameras = (
            {c.sensor_id: c for c in source.cameras}
            if isinstance(source, SensorsSourceConfig)
            else {}
        )
        if args.camera not in cameras:
            raise ConfigError(f"no camera {args.camera!r} in the configuration's source.cameras")
        k = camera_matrix(cameras[args.camera].calibration)
        dist = np.asarray(cameras[args.camera].calibration.distortion, dtype=np.float64)
    fit = fit_homography(read_survey(args.points), config.origin.to_model(), k, dist, args.ransac_m)
    print(
        json.dumps(
            {
                "homography": [[float(v) for v in row] for row in fit.homography],
                "points": len(fit.ground_errors_m),
                "inliers": int(fit.inliers.sum()),
                "reprojection_rms_m": fit.rms_m,
                "reprojection_max_m": float(fit.ground_errors_m.max()),
                "reprojection_rms_px": fit.rms_px,
                "errors_m": [round(float(e), 4) for e in fit.ground_errors_m],
            },
            indent=2,
        )
    )
    return 0


def _detect(args: argparse.Namespace) -> int:
    import numpy as np

    from roadside.camera import Detector, DetectorConfig, StreamError
    from roadside.camera.capture import open_video

    fields = {
        "model": args.model,
        "layout": args.layout,
        "classes": args.classes,
        "provider": args.provider,
        "threads": args.threads,
        "score_threshold": args.score_threshold,
        "nms_iou": args.nms_iou,
    }
    config = config_io.validate(
        DetectorConfig, {k: v for k, v in fields.items() if v is not None}, "vicoop rsu detect"
    )
    detector = Detector.open(config)
    video = open_video(args.video, 10.0)
    if not video.isOpened():
        raise StreamError(f"cannot open video {args.video}")
    frames: list[dict[str, Any]] = []
    try:
        while args.frames is None or len(frames) < args.frames:
            ok, image = video.read()
            if not ok:
                break
            found = detector.detect(np.asarray(image, dtype=np.uint8))
            frames.append(
                {
                    "index": len(frames),
                    "detections": [
                        {
                            "box_xyxy": [round(float(v), 3) for v in box],
                            "class_name": detector.class_names[int(c)],
                            "score": round(float(score), 6),
                        }
                        for box, c, score in zip(
                            found.boxes, found.class_ids, found.scores, strict=True
                        )
                    ],
                }
            )
            if not args.json:
                detections: list[dict[str, Any]] = frames[-1]["detections"]
                seen = ", ".join(f"{d['class_name']} {d['score']:.2f}" for d in detections)
                print(f"frame {len(frames) - 1}: {seen or 'nothing'}")
    finally:
        video.release()
    if args.json:
        print(json.dumps({"frames": frames}))
    return 0


def add_parser(roles: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rsu = roles.add_parser("rsu", help="run and configure a roadside unit")
    commands = rsu.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the RSU daemon until SIGTERM/SIGINT")
    run.add_argument("--config", help="YAML configuration (embedded defaults when omitted)")
    run.add_argument("--port", type=int, help="override server.port (0 picks a free port)")
    run.set_defaults(run=_run)

    check = commands.add_parser("check-config", help="validate a configuration file and print it")
    check.add_argument("file")
    check.set_defaults(run=_check_config)

    cal = commands.add_parser(
        "calibrate",
        help="fit a camera's ground homography from surveyed points and report the reprojection error",
        description="Fit the homography from (undistorted) pixels to the site's ENU ground plane from "
        "at least 4 surveyed points, given as a CSV with columns u,v,lat,lon[,alt]. Prints JSON: the "
        "homography (put it in the camera's calibration.homography) and the reprojection errors.",
    )
    cal.add_argument("--points", required=True, help="CSV of surveyed points: u,v,lat,lon[,alt]")
    cal.add_argument(
        "--config", help="RSU configuration: the site origin, and the camera's intrinsics"
    )
    cal.add_argument("--camera", help="sensor id of the camera whose distortion to undo first")
    cal.add_argument(
        "--ransac-m",
        type=float,
        default=0.0,
        help="RANSAC inlier threshold in m (0: least squares)",
    )
    cal.set_defaults(run=_calibrate)

    det = commands.add_parser(
        "detect",
        help="run a camera's detector on a video and print each frame's detections",
        description="Run an ONNX detector (as a camera on pixels runs it: letterbox, onnxruntime, "
        "layout decoding, NMS) on every frame of a video, and print the detections in the "
        "video's pixels, with the class names of the model's class list. With --json: "
        '{"frames": [{"index", "detections": [{"box_xyxy": [x1, y1, x2, y2], "class_name", '
        '"score"}]}]}.',
    )
    det.add_argument("--model", required=True, help="the detector's .onnx file")
    det.add_argument(
        "--layout",
        choices=("auto", "yolox", "yolov8", "yolov5"),
        help="its output layout (default auto: told from the output's shape)",
    )
    det.add_argument("--classes", help="file of the model's class names, one a line")
    det.add_argument("--score-threshold", type=float, help="least score kept (default 0.3)")
    det.add_argument("--nms-iou", type=float, help="NMS IoU threshold (default 0.45)")
    det.add_argument(
        "--provider",
        choices=("cpu", "cuda", "tensorrt", "openvino"),
        help="onnxruntime execution provider (default cpu)",
    )
    det.add_argument("--threads", type=int, help="onnxruntime intra-op threads (default 1)")
    det.add_argument("--video", required=True, help="a video file (or stream URL) to read")
    det.add_argument("--frames", type=int, help="stop after this many frames")
    det.add_argument("--json", action="store_true", help="print one JSON document")
    det.set_defaults(run=_detect)
