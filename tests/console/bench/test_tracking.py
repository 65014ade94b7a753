"""`vicoop bench tracking` and `vicoop bench fusion` run end to end and print the JSON the issue
names. Only the shape and sane ranges are checked: the targets and timings are the benchmarks'
business, not the tests'."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import run_vicoop

pytestmark = pytest.mark.slow


def bench(*args: str) -> Any:
    result = run_vicoop("bench", *args, "--json", timeout_s=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_tracking_bench_scores_every_variant() -> None:
    out = bench("tracking", "--duration", "4", "--seed", "3", "--vehicles-per-min", "6")
    assert (out["bench"], out["seed"], out["match_threshold_m"]) == ("tracking", 3, 1.5)
    assert out["scored_frames"] == 20  # 4 s at 20 Hz, the first 2 s settling, scored at 10 Hz
    assert out["ground_truth_objects_scored"] > 0
    assert set(out["variants"]) == {"camera", "radar", "fused", "stonesoup"}
    for figures in out["variants"].values():
        # The rig's scorer (hil.scoring) scores every variant on the same frames.
        assert {"mota", "idf1", "hota", "position_rmse_m", "velocity_rmse_mps"} <= set(figures)
        assert figures["frames"] == out["scored_frames"]
        assert figures["ground_truth_objects"] == out["ground_truth_objects_scored"]
        assert -1.0 <= figures["mota"] <= 1.0  # MOTA has no lower bound in general; not here
        assert 0.0 <= figures["idf1"] <= 1.0
        assert 0.0 <= figures["hota"] <= 1.0
        assert min(figures["id_switches"], figures["false_positives"], figures["misses"]) >= 0


def test_fusion_bench_times_ours_and_stone_soup_per_object_count() -> None:
    out = bench(
        "fusion",
        "--objects",
        "5",
        "20",
        "--cycles",
        "5",
        "--stonesoup-cycles",
        "3",
        "--stonesoup-budget-s",
        "2",
    )
    assert (out["bench"], out["rate_hz"]) == ("fusion", 20)
    assert [r["objects"] for r in out["results"]] == [5, 20]
    for r in out["results"]:
        assert set(r["ours_ms"]) == {"p50", "p99", "n"} and r["ours_ms"]["n"] == 5
        assert 0 < r["ours_ms"]["p50"] <= r["ours_ms"]["p99"]
        # CPU time of the measuring thread, next to the wall clock.
        assert set(r["ours_cpu_ms"]) == {"p50", "p99", "n"} and r["ours_cpu_ms"]["n"] == 5
        assert 0 <= r["ours_cpu_ms"]["p50"] <= r["ours_cpu_ms"]["p99"]
        assert 0 < r["stonesoup_ms"]["p50"] <= r["stonesoup_ms"]["p99"]
        assert r["speedup_p50"] > 0
        assert 0 <= r["tracks"] <= 2 * r["objects"]
