"""Scoring tracks against ground truth: the one scorer of the rig (``vicoop hil run``) and the
tracking bench (``vicoop bench tracking``). Pure: records in, figures out.

Each frame's tracks are compared with the ground truth interpolated to the frame's
``valid_at`` time, inside a region (the sensors' coverage: ground truth outside it is not
expected to be seen; a track outside it counts only when it is within the match distance of
covered ground truth). A track matches a road user within ``match_m`` metres of its box centre.
MOTA and IDF1 come from py-motmetrics (squared distances, gated at ``match_m``); HOTA from
TrackEval's own ``HOTA`` metric, fed per-timestep ids and similarities as TrackEval's datasets
do for points (``_calculate_euclidean_similarity``: ``max(0, 1 - d / match_m)``, so HOTA's
alpha threshold a means "within (1 - a) * match_m"); position and velocity RMSE from the pairs
py-motmetrics matched.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hil.truth import FloatArray, GroundTruth, IntArray, TruthHistory
from vicoop.model import NS_PER_S

Region = Callable[[FloatArray], npt.NDArray[np.bool_]]


@dataclass(frozen=True, eq=False)
class ReceivedFrame:
    """The tracks of one frame as a vehicle received them: ``ids`` (M,), ``positions`` (M, 2) m,
    ``velocities`` (M, 2) m/s, in the RSU's ENU frame, valid at ``valid_at_ns``."""

    valid_at_ns: int
    ids: IntArray
    positions: FloatArray
    velocities: FloatArray


@dataclass(frozen=True)
class TrackingScore:
    mota: float
    idf1: float
    hota: float
    position_rmse_m: float
    velocity_rmse_mps: float
    frames: int
    ground_truth_objects: int
    matches: int
    misses: int
    false_positives: int
    id_switches: int
    # Per second since the start: (t_s, ground truth, matches, misses, false positives, switches).
    timeline: tuple[tuple[float, int, int, int, int, int], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "mota": _r(self.mota),
            "idf1": _r(self.idf1),
            "hota": _r(self.hota),
            "position_rmse_m": _r(self.position_rmse_m),
            "velocity_rmse_mps": _r(self.velocity_rmse_mps),
            "frames": self.frames,
            "ground_truth_objects": self.ground_truth_objects,
            "matches": self.matches,
            "misses": self.misses,
            "false_positives": self.false_positives,
            "id_switches": self.id_switches,
        }


def _r(v: float) -> float | None:
    return None if not math.isfinite(v) else round(float(v), 4)


def _pairs(
    frames: Sequence[ReceivedFrame], history: TruthHistory, region: Region, match_m: float
) -> list[tuple[ReceivedFrame, GroundTruth, FloatArray, npt.NDArray[np.bool_]]]:
    out = []
    for f in frames:
        truth = history.at(f.valid_at_ns)
        if truth is None:
            continue
        truth = truth.select(region(truth.positions)) if len(truth) else truth
        d = np.hypot(
            truth.positions[:, None, 0] - f.positions[None, :, 0],
            truth.positions[:, None, 1] - f.positions[None, :, 1],
        )
        keep = region(f.positions) if len(f.ids) else np.zeros(0, dtype=bool)
        if len(truth) and len(f.ids):
            keep = keep | (d.min(axis=0) <= match_m)
        out.append((f, truth, d[:, keep], keep))
    return out


def score(
    frames: Sequence[ReceivedFrame],
    history: TruthHistory,
    region: Region,
    match_m: float = 2.0,
    start_ns: int | None = None,
) -> TrackingScore:
    """Score ``frames`` (in time order) against ``history`` inside ``region`` (a mask over ENU
    positions, m), matching within ``match_m`` m; the timeline's seconds count from
    ``start_ns`` (default: the first scored frame)."""
    import motmetrics as mm
    from trackeval.datasets._base_dataset import _BaseDataset
    from trackeval.metrics import HOTA

    pairs = _pairs(frames, history, region, match_m)
    if not pairs:
        return TrackingScore(math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0, 0, 0, 0, 0)
    acc = mm.MOTAccumulator(auto_id=False)
    gt_index: dict[int, int] = {}
    tr_index: dict[int, int] = {}
    hota_data: dict[str, Any] = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    by_frame: dict[
        int,
        tuple[
            dict[int, FloatArray],
            dict[int, FloatArray],
            dict[int, FloatArray],
            dict[int, FloatArray],
        ],
    ] = {}
    t0 = start_ns if start_ns is not None else pairs[0][0].valid_at_ns
    for k, (f, truth, d, keep) in enumerate(pairs):
        ids = f.ids[keep]
        acc.update(
            truth.ids.tolist(), ids.tolist(), np.where(d <= match_m, d * d, np.nan), frameid=k
        )
        hota_data["gt_ids"].append(
            np.array([gt_index.setdefault(int(i), len(gt_index)) for i in truth.ids], dtype=int)
        )
        hota_data["tracker_ids"].append(
            np.array([tr_index.setdefault(int(i), len(tr_index)) for i in ids], dtype=int)
        )
        hota_data["similarity_scores"].append(
            _BaseDataset._calculate_euclidean_similarity(
                truth.positions, f.positions[keep], zero_distance=match_m
            )
        )
        by_frame[k] = (
            dict(zip(truth.ids.tolist(), truth.positions, strict=True)),
            dict(zip(truth.ids.tolist(), truth.velocities, strict=True)),
            dict(zip(ids.tolist(), f.positions[keep], strict=True)),
            dict(zip(ids.tolist(), f.velocities[keep], strict=True)),
        )
    metrics = mm.metrics.create()
    summary = metrics.compute(
        acc,
        metrics=[
            "mota",
            "idf1",
            "num_switches",
            "num_false_positives",
            "num_misses",
            "num_matches",
            "num_objects",
        ],
    )
    hota_data.update(
        num_gt_ids=len(gt_index),
        num_tracker_ids=len(tr_index),
        num_gt_dets=sum(len(g) for g in hota_data["gt_ids"]),
        num_tracker_dets=sum(len(t) for t in hota_data["tracker_ids"]),
        num_timesteps=len(pairs),
    )
    hota = math.nan
    if hota_data["num_gt_dets"] or hota_data["num_tracker_dets"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hota = float(np.mean(HOTA().eval_sequence(hota_data)["HOTA"]))
    events = acc.mot_events
    matched = events[events["Type"].isin(["MATCH", "SWITCH"])]
    pos_err, vel_err = [], []
    for (frame, _), row in matched.iterrows():
        gt_pos, gt_vel, tr_pos, tr_vel = by_frame[int(frame)]
        o, h = int(row["OId"]), int(row["HId"])
        pos_err.append(float(np.sum((gt_pos[o] - tr_pos[h]) ** 2)))
        vel_err.append(float(np.sum((gt_vel[o] - tr_vel[h]) ** 2)))
    timeline = _timeline(events, [p[0].valid_at_ns for p in pairs], [len(p[1]) for p in pairs], t0)
    s = summary.iloc[0]
    return TrackingScore(
        mota=float(s["mota"]),
        idf1=float(s["idf1"]),
        hota=hota,
        position_rmse_m=math.sqrt(np.mean(pos_err)) if pos_err else math.nan,
        velocity_rmse_mps=math.sqrt(np.mean(vel_err)) if vel_err else math.nan,
        frames=len(pairs),
        ground_truth_objects=int(s["num_objects"]),
        matches=int(s["num_matches"]),
        misses=int(s["num_misses"]),
        false_positives=int(s["num_false_positives"]),
        id_switches=int(s["num_switches"]),
        timeline=timeline,
    )


def _timeline(
    events: Any, times_ns: list[int], gt_counts: list[int], t0_ns: int
) -> tuple[tuple[float, int, int, int, int, int], ...]:
    seconds = np.floor((np.asarray(times_ns) - t0_ns) / NS_PER_S).astype(int)
    counts: dict[int, list[int]] = {}
    for k, s in enumerate(seconds):
        counts.setdefault(int(s), [0, 0, 0, 0, 0])[0] += gt_counts[k]
    types = events["Type"].to_numpy()
    frame_ids = events.index.get_level_values(0).to_numpy()
    col = {"MATCH": 1, "SWITCH": 1, "MISS": 2, "FP": 3}
    for frame, typ in zip(frame_ids, types, strict=True):
        s = int(seconds[int(frame)])
        if typ in col:
            counts[s][col[typ]] += 1
        if typ == "SWITCH":
            counts[s][4] += 1
    return tuple((float(s), *c) for s, c in sorted(counts.items()))  # type: ignore[misc]


def mota_of(
    timeline: Sequence[tuple[float, int, int, int, int, int]], start_s: float, end_s: float
) -> float:
    """MOTA over the seconds in [start_s, end_s) of a score's timeline (NaN with no ground truth)."""
    rows = [r for r in timeline if start_s <= r[0] < end_s]
    gt = sum(r[1] for r in rows)
    if gt == 0:
        return math.nan
    return 1.0 - (sum(r[3] for r in rows) + sum(r[4] for r in rows) + sum(r[5] for r in rows)) / gt


def recall_of(
    timeline: Sequence[tuple[float, int, int, int, int, int]], start_s: float, end_s: float
) -> float:
    """Share of ground truth matched by a track over the seconds in [start_s, end_s)."""
    rows = [r for r in timeline if start_s <= r[0] < end_s]
    gt = sum(r[1] for r in rows)
    return sum(r[2] for r in rows) / gt if gt else math.nan


def percentiles_ms(latencies_s: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and max of latencies given in seconds, in ms."""
    if not latencies_s:
        return {"p50": None, "p99": None, "max": None}
    a = np.asarray(latencies_s) * 1000.0
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p99": round(float(np.percentile(a, 99)), 3),
        "max": round(float(a.max()), 3),
    }
