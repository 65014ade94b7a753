"""``vicoop bench tracking`` and ``vicoop bench fusion``: accuracy and speed of the tracker.

``tracking`` runs generated crossroads traffic (``console.bench.traffic``) through the rig's
sensor models (``hil.sensors``: the radar's polar noise, range-dependent detection probability,
clutter, field of view and occlusion; the camera's boxes projected through its calibration) and
the tracker with the camera only, the radar only and both, and the fused inputs through a Stone
Soup GNN tracker built from the same motion (coordinated turn; Stone Soup has no IMM) and
measurement models (the radar's polar bearing/range/range-rate model, the camera's calibrated
ground position with its own covariance) and the same M-of-N track management. The rig's scorer
(``hil.scoring``) scores every variant against the ground truth inside both sensors' coverage
at a 1.5 m match threshold: MOTA and IDF1 with py-motmetrics, HOTA with TrackEval (similarity
max(0, 1 - d / 1.5 m), as TrackEval's datasets compute it for points).
Camera frames arrive ``--camera-latency-ms`` late (out of sequence for our tracker); Stone Soup,
which cannot reorder, is given every scan in measurement-time order without latency.

``fusion`` times one publish cycle (a radar scan and a camera scan at 20 Hz, calibrated, fused,
and every track predicted to the publish time) for M objects (the radar measured by the rig's
model, seeing all round without misses or clutter so that every scan holds M objects), against the same cycle through the
Stone Soup tracker: wall clock (``ours_ms``, ``stonesoup_ms``) and, for ours, the measuring
thread's CPU time (``ours_cpu_ms``, ``time.thread_time_ns``), which a loaded machine does not
inflate.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import time
from typing import Any

import numpy as np

from console.bench.traffic import IntersectionTraffic
from hil.scoring import ReceivedFrame, score
from hil.sensors import CameraModel, CameraSimConfig, RadarSimConfig, measure_camera, measure_radar
from hil.truth import FloatArray, GroundTruth, IntArray, TruthHistory
from roadside.calibration import CameraProjector, RadarProjector
from roadside.fusion.base import CLASS_SIZES, Coverage, Scan, TrackEstimates
from roadside.fusion.tracker import MultiSensorTracker
from roadside.ingest.base import RadarCycle
from roadside.sources.fused import camera_coverage, camera_scan, radar_coverage, radar_scan
from roadside.sources.fused_config import SensorsSourceConfig
from vicoop.model import NS_PER_S, ObjectClass, SensorKind

MATCH_M = 1.5


# -- the Stone Soup peer ----------------------------------------------------------------------


class StoneSoupTracker:
    """A Stone Soup GNN tracker (EKF, coordinated-turn model, Mahalanobis gating, 2-D assignment)
    with the same M-of-N confirmation and deletion as ours. Candidates for each track's gate are
    pre-selected with a k-d tree on the ground plane (as Stone Soup's own ``DetectionKDTreeMixIn``,
    which needs one measurement model per scan)."""

    def __init__(self, config: SensorsSourceConfig) -> None:
        from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
        from stonesoup.hypothesiser.distance import DistanceHypothesiser
        from stonesoup.measures import Mahalanobis
        from stonesoup.models.transition.nonlinear import ConstantTurn
        from stonesoup.predictor.kalman import ExtendedKalmanPredictor
        from stonesoup.updater.kalman import ExtendedKalmanUpdater

        self.cfg = config.tracker
        ct = next(m for m in self.cfg.motion_models if m.name == "ct")
        transition = ConstantTurn(
            linear_noise_coeffs=np.array([ct.accel_psd, ct.accel_psd]), turn_noise_coeff=ct.turn_psd
        )
        self.predictor = ExtendedKalmanPredictor(transition)
        self.updater = ExtendedKalmanUpdater(measurement_model=None)
        gate = -2.0 * math.log1p(-self.cfg.gate_probability)
        self.hypothesiser = DistanceHypothesiser(
            self.predictor, self.updater, measure=Mahalanobis(), missed_distance=math.sqrt(gate)
        )
        self.associator = GNNWith2DAssignment(self.hypothesiser)
        self.tracks: set[Any] = set()
        self.meta: dict[Any, dict[str, Any]] = {}
        self.next_id = 1
        self._models: dict[str, Any] = {}
        self.radar = {r.sensor_id: r for r in config.radars}

    def _detections(self, scan: Scan, raw: Any) -> list[Any]:
        from stonesoup.models.measurement.linear import LinearGaussian
        from stonesoup.models.measurement.nonlinear import CartesianToBearingRangeRate2D
        from stonesoup.types.detection import Detection

        ts = datetime.datetime.fromtimestamp(scan.measured_at_ns / NS_PER_S, tz=datetime.UTC)
        out = []
        if scan.kind == SensorKind.RADAR:
            r = self.radar[scan.sensor_id]
            model = CartesianToBearingRangeRate2D(
                ndim_state=5,
                mapping=(0, 2),
                velocity_mapping=(1, 3),
                noise_covar=np.diag(
                    [
                        r.noise.azimuth_sigma_rad**2 + (r.noise.extent_sigma_m / 30) ** 2,
                        r.noise.range_sigma_m**2 + r.noise.extent_sigma_m**2,
                        r.noise.radial_speed_sigma_mps**2,
                    ]
                ),
                translation_offset=np.array([[r.mounting.x_m], [r.mounting.y_m]]),
            )
            g = np.sqrt(np.maximum(raw.ranges_m**2 - r.mounting.z_m**2, 0.0))
            bearing = raw.azimuths_rad + r.mounting.yaw_rad
            for k in range(len(scan)):
                out.append(
                    Detection(
                        np.array(
                            [
                                [math.atan2(math.sin(bearing[k]), math.cos(bearing[k]))],
                                [g[k]],
                                [raw.radial_speeds_mps[k]],
                            ]
                        ),
                        timestamp=ts,
                        measurement_model=model,
                    )
                )
        else:
            for k in range(len(scan)):
                model = LinearGaussian(
                    ndim_state=5, mapping=(0, 2), noise_covar=scan.covariances[k]
                )
                out.append(
                    Detection(
                        scan.positions[k].reshape(2, 1), timestamp=ts, measurement_model=model
                    )
                )
        return out

    def process(self, scan: Scan, raw: Any) -> None:
        from scipy.spatial import cKDTree
        from stonesoup.types.state import GaussianState
        from stonesoup.types.track import Track

        cfg = self.cfg
        detections = self._detections(scan, raw)
        ts = datetime.datetime.fromtimestamp(scan.measured_at_ns / NS_PER_S, tz=datetime.UTC)
        tracks = list(self.tracks)
        hyps: dict[Any, Any] = {}
        if tracks and detections:
            tree = cKDTree(scan.positions)
            for track in tracks:
                pred = self.predictor.predict(track, timestamp=ts)
                idx = tree.query_ball_point(
                    [float(pred.state_vector[0, 0]), float(pred.state_vector[2, 0])], r=15.0
                )
                hyps[track] = self.hypothesiser.hypothesise(track, {detections[i] for i in idx}, ts)
            associations = _assign(self.associator, hyps)
        else:
            associations = {}
        used = set()
        for track in tracks:
            meta = self.meta[track]
            hyp = associations.get(track)
            pred_xy = None
            if hyp is not None and hyp.measurement:
                track.append(self.updater.update(hyp))
                used.add(hyp.measurement)
                hit = True
            else:
                pred = self.predictor.predict(track, timestamp=ts)
                track.append(pred)
                pred_xy = np.array([[pred.state_vector[0, 0], pred.state_vector[2, 0]]])
                hit = False
            covered = (
                hit
                or scan.coverage is None
                or pred_xy is None
                or bool(scan.coverage.contains(pred_xy)[0])
            )
            if covered:
                meta["hits"] = ((meta["hits"] << 1) | hit) & 0xFF
                meta["chances"] += 1
            if hit:
                meta["last"] = scan.measured_at_ns
            recent = bin(meta["hits"] & ((1 << cfg.confirm_n) - 1)).count("1")
            if not meta["confirmed"]:
                if recent >= cfg.confirm_m:
                    meta["confirmed"] = True
                elif meta["chances"] >= cfg.confirm_n:
                    self._drop(track)
                    continue
            misses = min(meta["chances"], cfg.delete_n) - bin(
                meta["hits"] & ((1 << cfg.delete_n) - 1)
            ).count("1")
            if meta["confirmed"] and misses >= cfg.delete_m:
                self._drop(track)
        for k, det in enumerate(detections):
            if det in used:
                continue
            x, y = scan.positions[k]
            gated = False
            for track in self.tracks:
                sv = track.state_vector
                if (sv[0, 0] - x) ** 2 + (sv[2, 0] - y) ** 2 < 4.0:
                    gated = True
                    break
            if gated:
                continue
            sv2 = cfg.init_speed_sigma_mps**2
            p = np.diag([0.0, sv2, 0.0, sv2, cfg.init_turn_sigma_radps**2])
            p[np.ix_([0, 2], [0, 2])] = scan.covariances[k]
            track = Track(
                [GaussianState(np.array([[x], [0.0], [y], [0.0], [0.0]]), p, timestamp=ts)]
            )
            self.tracks.add(track)
            self.meta[track] = {
                "id": self.next_id,
                "hits": 1,
                "chances": 1,
                "confirmed": False,
                "last": scan.measured_at_ns,
            }
            self.next_id += 1

    def _drop(self, track: Any) -> None:
        self.tracks.discard(track)
        self.meta.pop(track, None)

    def output(self, now_ns: int) -> tuple[IntArray, FloatArray, FloatArray]:
        """Confirmed tracks predicted to ``now_ns``: ids (N,), ENU positions (N, 2) m and
        velocities (N, 2) m/s."""
        ts = datetime.datetime.fromtimestamp(now_ns / NS_PER_S, tz=datetime.UTC)
        ids, xy, v = [], [], []
        for track in list(self.tracks):
            meta = self.meta[track]
            if now_ns - meta["last"] > self.cfg.max_coast_s * NS_PER_S:
                self._drop(track)
                continue
            if meta["confirmed"]:
                pred = self.predictor.predict(track.state, timestamp=ts)
                ids.append(meta["id"])
                xy.append([pred.state_vector[0, 0], pred.state_vector[2, 0]])
                v.append([pred.state_vector[1, 0], pred.state_vector[3, 0]])
        return (
            np.array(ids, dtype=np.int64),
            np.array(xy, dtype=np.float64).reshape(-1, 2),
            np.array(v, dtype=np.float64).reshape(-1, 2),
        )


def _assign(associator: Any, hypotheses: dict[Any, Any]) -> dict[Any, Any]:
    original = associator.generate_hypotheses
    associator.generate_hypotheses = lambda tracks, detections, timestamp, **kw: hypotheses
    try:
        detections = {h.measurement for hs in hypotheses.values() for h in hs if h}
        return dict(associator.associate(set(hypotheses), detections, None))
    finally:
        associator.generate_hypotheses = original


# -- the tracking benchmark -------------------------------------------------------------------


def _in_view(xy: np.ndarray, coverages: list[Coverage | None], radius_m: float) -> np.ndarray:
    inside: np.ndarray = np.hypot(xy[:, 0], xy[:, 1]) <= radius_m
    for c in coverages:
        if c is not None:
            inside &= c.contains(xy)
    return inside


def run_tracking(
    duration_s: float,
    seed: int,
    camera_latency_ms: float,
    vehicles_per_min: float,
    include_stonesoup: bool = True,
) -> dict[str, Any]:
    config = SensorsSourceConfig()
    radar_cfg, cam_cfg = config.radars[0], config.cameras[0]
    traffic = IntersectionTraffic(seed, vehicles_per_min=vehicles_per_min)
    radar_sim, cam_sim = RadarSimConfig(), CameraSimConfig()
    cam_model = CameraModel(cam_cfg)
    radar_rng, cam_rng = np.random.default_rng(seed + 1), np.random.default_rng(seed + 2)
    rproj, cproj = (
        RadarProjector(radar_cfg.mounting, radar_cfg.noise),
        CameraProjector(cam_cfg.calibration),
    )
    rcov, ccov = radar_coverage(radar_cfg), camera_coverage(cam_cfg)
    trackers = {name: MultiSensorTracker(config.tracker) for name in ("camera", "radar", "fused")}
    peer = StoneSoupTracker(config) if include_stonesoup else None
    history = TruthHistory()
    frames: dict[str, list[ReceivedFrame]] = {n: [] for n in [*trackers, "stonesoup"]}
    latency_ticks = max(0, round(camera_latency_ms / 50.0))
    delayed: list[Scan] = []
    ticks = int(duration_s * 20)
    times: dict[str, float] = {n: 0.0 for n in frames}
    for tick in range(ticks):
        truth = traffic.step()
        history.add(truth)
        radar_raw = measure_radar(truth, radar_cfg, radar_sim, radar_rng).as_cycle(
            radar_cfg.sensor_id, tick
        )
        cam_raw = measure_camera(truth, cam_model, cam_sim, cam_rng).as_frame(
            cam_cfg.sensor_id, tick
        )
        rs = radar_scan(radar_raw, rproj, rcov)
        cs = camera_scan(cam_raw, cproj, ccov, cam_cfg.min_score)
        delayed.append(cs)
        arrived = delayed.pop(0) if len(delayed) > latency_ticks else None
        cam_in = [arrived] if arrived is not None else []
        now = truth.t_ns
        inputs = {"camera": cam_in, "radar": [rs], "fused": [rs, *cam_in]}
        results: dict[str, TrackEstimates] = {}
        for name, tracker in trackers.items():
            t0 = time.perf_counter()
            results[name] = tracker.step(inputs[name], now)
            times[name] += time.perf_counter() - t0
        if peer is not None:
            t0 = time.perf_counter()
            peer.process(rs, radar_raw)
            peer.process(cs, cam_raw)
            ss_ids, ss_xy, ss_v = peer.output(now)
            times["stonesoup"] += time.perf_counter() - t0
        if tick < 40 or tick % 2:  # let the trackers settle; score at 10 Hz
            continue
        for name, est in results.items():
            frames[name].append(ReceivedFrame(now, est.ids, est.states[:, :2], est.states[:, 2:4]))
        if peer is not None:
            frames["stonesoup"].append(ReceivedFrame(now, ss_ids, ss_xy, ss_v))

    def region(xy: FloatArray) -> np.ndarray:
        return _in_view(xy, [rcov, ccov], 60.0)

    variants = {
        name: score(f, history, region, MATCH_M).as_dict() | {"cpu_s": round(times[name], 2)}
        for name, f in frames.items()
        if f
    }
    return {
        "bench": "tracking",
        "duration_s": duration_s,
        "seed": seed,
        "match_threshold_m": MATCH_M,
        "camera_latency_ms": camera_latency_ms,
        "scored_frames": variants["fused"]["frames"],
        "ground_truth_objects_scored": variants["fused"]["ground_truth_objects"],
        "variants": variants,
    }


# -- the fusion speed benchmark ---------------------------------------------------------------


def _random_scans(
    m: int, cycles: int, seed: int, config: SensorsSourceConfig
) -> list[tuple[int, Scan, Scan, RadarCycle]]:
    """``cycles`` of a radar and a camera scan of M cars moving straight in a square growing with
    M (10 cars per 120 m square). The radar is the rig's model (``hil.sensors``) of the site's
    first radar, made to see all round and every car, without clutter; the camera scan is the
    cars' ground positions with 0.5 m noise (a calibrated camera's output)."""
    rng = np.random.default_rng(seed)
    radar_cfg = config.radars[0].model_copy(update={"half_fov_rad": math.pi, "max_range_m": 1000.0})
    radar_sim = RadarSimConfig(
        p_detect_near=1.0, p_detect_far=1.0, clutter_per_scan=0.0, occlusion_threshold=1.0
    )
    rproj = RadarProjector(radar_cfg.mounting, radar_cfg.noise)
    pos = rng.uniform(-60, 60, (m, 2)) * math.sqrt(max(m, 10) / 10)
    vel = rng.normal(0, 6, (m, 2))
    car = int(ObjectClass.CAR)
    out = []
    t0 = 1_700_000_000 * NS_PER_S
    for c in range(cycles):
        t = t0 + c * NS_PER_S // 20
        p = pos + vel * c / 20
        truth = GroundTruth(
            t,
            np.arange(m, dtype=np.int64),
            p,
            vel,
            np.arctan2(vel[:, 1], vel[:, 0]),
            np.full(m, car, dtype=np.int64),
            np.tile(CLASS_SIZES[ObjectClass.CAR], (m, 1)),
        )
        raw = measure_radar(truth, radar_cfg, radar_sim, rng).as_cycle(radar_cfg.sensor_id, c)
        rs = radar_scan(raw, rproj, None)
        cs = Scan(
            "camera-1",
            SensorKind.CAMERA,
            t,
            p + rng.normal(0, 0.5, (m, 2)),
            np.broadcast_to(np.eye(2) * 0.25, (m, 2, 2)).copy(),
            classes=np.full(m, car),
            class_scores=np.full(m, 0.8),
        )
        out.append((t, rs, cs, raw))
    return out


def _percentiles(samples: list[float]) -> dict[str, float]:
    a = np.array(samples) * 1e3
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p99": round(float(np.percentile(a, 99)), 3),
        "n": len(samples),
    }


def run_fusion(
    objects: list[int], cycles: int, stonesoup_cycles: int, stonesoup_budget_s: float, seed: int
) -> dict[str, Any]:
    config = SensorsSourceConfig()
    results = []
    warm = 10
    for m in objects:
        scans = _random_scans(m, warm + cycles, seed, config)
        tracker = MultiSensorTracker(config.tracker)
        ours, ours_cpu = [], []
        for i, (t, rs, cs, _) in enumerate(scans):
            c0 = time.thread_time_ns()
            t0 = time.perf_counter()
            est = tracker.step([rs, cs], t + NS_PER_S // 100)
            dt = time.perf_counter() - t0
            dc = (time.thread_time_ns() - c0) / NS_PER_S
            if i >= warm:
                ours.append(dt)
                ours_cpu.append(dc)
        # Wall clock is what a cycle costs the RSU; the measuring thread's CPU time tells a slow
        # tracker from a loaded machine (time spent waiting for a core does not count).
        entry: dict[str, Any] = {
            "objects": m,
            "ours_ms": _percentiles(ours),
            "ours_cpu_ms": _percentiles(ours_cpu),
            "tracks": len(est),
        }
        peer = StoneSoupTracker(config)
        ss: list[float] = []
        spent = 0.0
        for i, (t, rs, cs, raw) in enumerate(scans[: warm + stonesoup_cycles]):
            t0 = time.perf_counter()
            peer.process(rs, raw)
            peer.process(cs, None)
            ids, _, _ = peer.output(t + NS_PER_S // 100)
            dt = time.perf_counter() - t0
            spent += dt
            if i >= warm:
                ss.append(dt)
            if spent > stonesoup_budget_s and len(ss) >= 3:
                break
        if ss:
            entry["stonesoup_ms"] = _percentiles(ss)
            entry["stonesoup_tracks"] = len(ids)
            entry["speedup_p50"] = round(
                entry["stonesoup_ms"]["p50"] / max(entry["ours_ms"]["p50"], 1e-9), 1
            )
        results.append(entry)
    return {"bench": "fusion", "rate_hz": 20, "sensors": ["radar", "camera"], "results": results}


def _run_tracking(args: argparse.Namespace) -> int:
    print(
        json.dumps(
            run_tracking(
                args.duration,
                args.seed,
                args.camera_latency_ms,
                args.vehicles_per_min,
                not args.no_stonesoup,
            )
        )
    )
    return 0


def _run_fusion(args: argparse.Namespace) -> int:
    print(
        json.dumps(
            run_fusion(
                args.objects, args.cycles, args.stonesoup_cycles, args.stonesoup_budget_s, args.seed
            )
        )
    )
    return 0


def add_parser(benches: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``tracking`` and ``fusion`` under ``vicoop bench``."""
    t = benches.add_parser(
        "tracking", help="tracking accuracy (MOTA, IDF1, HOTA) vs Stone Soup, JSON"
    )
    t.add_argument("--json", action="store_true", help="print JSON (the only output format)")
    t.add_argument("--duration", type=float, default=60.0, help="simulated seconds (default 60)")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument(
        "--camera-latency-ms", type=float, default=50.0, help="camera frames arrive this late"
    )
    t.add_argument(
        "--vehicles-per-min", type=float, default=8.0, help="vehicle arrivals per arm per minute"
    )
    t.add_argument("--no-stonesoup", action="store_true", help="skip the Stone Soup peer")
    t.set_defaults(run=_run_tracking)
    f = benches.add_parser("fusion", help="per-cycle fusion time for M objects vs Stone Soup, JSON")
    f.add_argument("--json", action="store_true", help="print JSON (the only output format)")
    f.add_argument("--objects", type=int, nargs="+", default=[10, 50, 200, 500])
    f.add_argument("--cycles", type=int, default=200, help="timed cycles of ours per M")
    f.add_argument(
        "--stonesoup-cycles", type=int, default=30, help="at most this many Stone Soup cycles per M"
    )
    f.add_argument("--stonesoup-budget-s", type=float, default=20.0, help="Stone Soup time per M")
    f.add_argument("--seed", type=int, default=1)
    f.set_defaults(run=_run_fusion)


__all__ = ["add_parser", "run_fusion", "run_tracking"]
