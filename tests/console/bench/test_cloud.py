"""`vicoop bench cloud` prints one JSON object with the figures the issue names, for the twin and
for the bare-subscriber baseline measured beside it. Shape and counts only: timings are for the
benchmark, not for tests. Uses the machine's broker when ``MQTT_URL`` is set, else an embedded
one."""

from __future__ import annotations

import json
import os

from tests.conftest import run_vicoop


def test_cloud_bench_prints_its_figures_and_its_baseline() -> None:
    broker = ["--mqtt-url", os.environ["MQTT_URL"]] if os.environ.get("MQTT_URL") else []
    result = run_vicoop(
        "bench",
        "cloud",
        "--rsus",
        "4",
        "--rate",
        "10",
        "--duration",
        "2",
        *broker,
        "--json",
        timeout_s=180,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["rsus"], out["rate_hz"], out["messages_offered_per_s"]) == (4, 10.0, 40.0)
    assert out["malformed"] == 0
    for figures in (out, out["baseline"]):
        assert figures["messages_per_s"] > 0
        lag = figures["lag_ms"]
        assert lag["p50"] is not None and lag["p50"] <= lag["p99"] <= lag["max"]
        assert figures["cpu_s"] > 0
    assert out["lag_p99_vs_baseline"] > 0
