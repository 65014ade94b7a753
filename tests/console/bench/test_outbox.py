"""`vicoop bench outbox` prints one JSON object: the twin's outbox drain (every event stored and
receipted) and the bare-client baseline beside it. Counts only: timings are for the benchmark.
Uses the machine's broker when ``MQTT_URL`` is set, else a Mosquitto of its own."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import run_vicoop


def test_outbox_bench_stores_and_receipts_every_message() -> None:
    broker = ["--mqtt-url", os.environ["MQTT_URL"]] if os.environ.get("MQTT_URL") else []
    if not broker and shutil.which("mosquitto") is None:
        pytest.skip("needs MQTT_URL or a mosquitto binary")
    result = run_vicoop(
        "bench", "outbox", "--rsus", "4", "--messages", "400", *broker, "--json", timeout_s=180
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["rsus"], out["messages"]) == (4, 400)
    twin, bare = out["twin"], out["baseline"]
    assert (twin["sent"], twin["receipted"], twin["stored"]) == (400, 400, 400)
    assert (bare["sent"], bare["receipted"]) == (400, 400)
    assert twin["msgs_per_s"] > 0 and bare["msgs_per_s"] > 0


def test_outbox_bench_with_two_workers_stores_each_message_once() -> None:
    broker = ["--mqtt-url", os.environ["MQTT_URL"]] if os.environ.get("MQTT_URL") else []
    if not broker and shutil.which("mosquitto") is None:
        pytest.skip("needs MQTT_URL or a mosquitto binary")
    result = run_vicoop(
        "bench",
        "outbox",
        "--rsus",
        "4",
        "--messages",
        "400",
        "--workers",
        "2",
        "--no-baseline",
        *broker,
        "--json",
        timeout_s=180,
    )
    assert result.returncode == 0, result.stderr
    twin = json.loads(result.stdout)["twin"]
    assert (twin["sent"], twin["receipted"], twin["stored"]) == (400, 400, 400)
    shares = twin["applied_per_worker"]
    assert len(shares) == 2 and all(n > 0 for n in shares)  # the broker spread them
    assert sum(shares) >= 400
