"""`vicoop bench stream` prints one JSON object with the figures the issue names.

Only the shape and the counts are checked: timings are for the benchmark, not for tests."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_vicoop


@pytest.mark.parametrize("tls", [(), ("--tls",)], ids=["plaintext", "tls"])
def test_stream_bench_prints_its_figures_and_counts_add_up(tls: tuple[str, ...]) -> None:
    result = run_vicoop(
        "bench",
        "stream",
        *tls,
        "--subscribers",
        "3",
        "--rate",
        "20",
        "--objects",
        "10",
        "--duration",
        "1",
        "--json",
        timeout_s=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["subscribers"], out["rate_hz"], out["objects"]) == (3, 20.0, 10)
    assert out["tls"] is bool(tls)
    assert out["frames_published"] == 20
    assert out["frames_delivered"] + out["frames_lost"] == 60
    assert out["frames_dropped"] >= 0
    for figures in (out, out["baseline"]):
        assert set(figures["latency_ms"]) == {"p50", "p99", "max"}
        assert (
            0
            < figures["latency_ms"]["p50"]
            <= figures["latency_ms"]["p99"]
            <= figures["latency_ms"]["max"]
        )
        assert figures["cpu_s"] > 0
    assert (
        out["latency_p99_ratio"] == out["latency_ms"]["p99"] / out["baseline"]["latency_ms"]["p99"]
    )
    assert [r["latency_p99_ratio"] for r in out["rounds"]] == [out["latency_p99_ratio"]]
    assert out["latency_p99_ratio_median"] == out["latency_p99_ratio"]
