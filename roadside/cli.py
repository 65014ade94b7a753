"""``vicoop rsu …``: run and configure a roadside unit."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roadside.config import RsuConfig
from vicoop import config as config_io

if TYPE_CHECKING:
    from roadside.its.export import ItsIntersection

# The intersections of a scenario (``--scenario``): given by the layer that knows SUMO (``hil``,
# wired in by ``console.cli``), which this package may not import.
ScenarioIntersections = Callable[[str], "Sequence[ItsIntersection]"]


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


def _export_its(args: argparse.Namespace) -> int:
    from roadside.its.export import config_intersections, export_its, station_id_of
    from vicoop.errors import ConfigError

    if args.config is not None:
        config = load_config(args.config)
        intersections: Sequence[ItsIntersection] = config_intersections(config)
        rsu_id = config.rsu_id
    else:
        if args.scenario_intersections is None:
            raise ConfigError("--scenario needs the hil extra (SUMO): pip install 'vicoop[hil]'")
        intersections = args.scenario_intersections(args.scenario)
        rsu_id = Path(args.scenario).name
    station = args.station_id if args.station_id is not None else station_id_of(rsu_id)
    count = export_its(Path(args.pcap), intersections, station, time.time_ns())
    print(f"wrote {count} frames ({len(intersections)} intersections) to {args.pcap}")
    return 0


def add_parser(
    roles: argparse._SubParsersAction,  # type: ignore[type-arg]
    scenario_intersections: ScenarioIntersections | None = None,
) -> None:
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

    its = commands.add_parser(
        "export-its",
        help="write the site's MAP and SPaT as ETSI MAPEM/SPATEM in a pcap Wireshark decodes",
        description="Write a capture (classic pcap, Ethernet) with one MAPEM and one SPATEM per "
        "intersection, each in BTP-B (ports 2003 and 2004) over GeoNetworking single-hop "
        "broadcast (EtherType 0x8947), as an RSU sends them: Wireshark and tshark decode it with "
        "no option. The intersections come from the RSU configuration's map.intersections, or "
        "from a SUMO scenario's traffic-light junctions; their J2735 IntersectionReferenceID is "
        "their place in that list, 1 first. The SPATEM is of the SPaT as the export knows it, "
        "with no live controller: every signal group UNAVAILABLE, no timing.",
    )
    source = its.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="RSU YAML configuration with map.intersections")
    source.add_argument(
        "--scenario",
        help="SUMO scenario folder, .sumocfg, .net.xml or bundled name (needs the hil extra)",
    )
    its.add_argument("--pcap", required=True, help="the capture file to write")
    its.add_argument(
        "--station-id",
        type=int,
        help="ETSI StationID of the sender (default: the CRC-32 of the rsu_id or scenario name)",
    )
    its.set_defaults(run=_export_its, scenario_intersections=scenario_intersections)
