"""`vicoop hil run` in lock-step on the bundled scenario: the JSON a test engineer reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_vicoop

pytest.importorskip("libsumo")
VICOOP = [sys.executable, "-m", "console.cli", "--log-level", "WARNING"]
# The JSON's keys the README's "For test engineers" names.
DOCUMENTED = {
    "mota",
    "idf1",
    "hota",
    "position_rmse_m",
    "velocity_rmse_mps",
    "latency_ms",
    "latency_ms_outside_faults",
    "frames_lost",
    "frames_lost_outside_faults",
    "mota_outside_faults",
    "measurement_to_vehicle_ms",
    "latency_split_ms",
    "rsus",
    "faults",
}


@pytest.mark.slow
def test_lockstep_run_with_faults_writes_the_scores(tmp_path: Path) -> None:
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    result = run_vicoop(
        "hil",
        "run",
        "--duration",
        "50",
        "--clients",
        "3",
        "--faults",
        "radar_silent,rsu_restart",
        "--json",
        str(out),
        "--report",
        str(report),
        "--workdir",
        str(tmp_path),
        timeout_s=300,
    )
    assert result.returncode == 0, result.stderr
    r = json.loads(out.read_text())
    assert set(r) >= DOCUMENTED and "report" not in r
    assert r["mode"] == "lockstep" and r["rsu_mode"] == "inprocess"
    assert 0.6 <= r["mota"] <= 1.0 and 0.3 <= r["idf1"] <= 1.0 and 0.3 <= r["hota"] <= 1.0
    assert 0.0 < r["position_rmse_m"] < 1.5 and 0.0 < r["velocity_rmse_mps"] < 3.0
    assert (
        set(r["latency_ms"]) == {"p50", "p99", "max"}
        and 0 < r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]
    )
    assert r["frames_lost_outside_faults"] == 0 and r["barrier_timeouts"] <= 40
    assert {name: f["passed"] for name, f in r["faults"].items()} == {
        "radar_silent": True,
        "rsu_restart": True,
    }
    sensors = r["rsus"]["crossing-B1"]["sensors"]
    assert (
        sensors["radar-1"]["silenced_by_fault"] > 0
        and sensors["camera-1"]["silenced_by_fault"] == 0
    )
    page = report.read_text()
    assert (
        "<svg" in page and "radar_silent" in page and "http" not in page.replace("http-equiv", "")
    )


def test_unknown_fault_and_missing_scenario_are_one_line_errors(tmp_path: Path) -> None:
    for args, message in (
        (["--faults", "gremlins"], "vicoop: error: unknown faults ['gremlins']"),
        (
            ["--scenario", str(tmp_path / "nowhere")],
            f"vicoop: error: {tmp_path / 'nowhere'}: no such scenario",
        ),
    ):
        result = run_vicoop("hil", "run", "--duration", "1", *args, timeout_s=60)
        assert result.returncode == 2
        assert result.stderr.strip().startswith(message)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_realtime_run_drives_an_rsu_already_running_elsewhere(tmp_path: Path) -> None:
    """As on a test bench: the RSU runs from its own YAML (written from the site file), the rig
    sends to its sensor ports and subscribes to its gRPC port."""
    bundled = Path(__file__).parents[2] / "hil" / "scenarios" / "crossing"
    site, server_port = tmp_path / "bench.site.yaml", _free_port()
    subprocess.run(
        [
            *VICOOP,
            "hil",
            "site",
            "--scenario",
            str(bundled),
            "--out",
            str(site),
            "--ports",
            str(_free_port()),
            "--server-port",
            str(server_port),
            "--rsu-yaml",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    rsu = subprocess.Popen(
        [*VICOOP, "rsu", "run", "--config", str(tmp_path / "crossing-B1.rsu.yaml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        out = tmp_path / "out.json"
        result = run_vicoop(
            "hil",
            "run",
            "--scenario",
            str(site),
            "--rsu",
            f"127.0.0.1:{server_port}",
            "--realtime",
            "--duration",
            "8",
            "--clients",
            "2",
            "--warmup",
            "120",
            "--json",
            str(out),
            "--workdir",
            str(tmp_path),
            timeout_s=120,
        )
    finally:
        rsu.terminate()
        rsu.wait(20)
    assert result.returncode == 0, result.stderr
    r = json.loads(out.read_text())
    assert r["mode"] == "realtime" and r["rsu_mode"] == "external" and r["vehicle_clients"] == 2
    assert r["frames_received"] > 100 and r["mota"] is not None and r["mota"] > 0.5
    assert r["latency_ms"]["p50"] > 0
    assert r["spat"] is None and "did not start" in r["spat_not_measured"]


def test_an_rsu_elsewhere_needs_fixed_sensor_ports(tmp_path: Path) -> None:
    result = run_vicoop(
        "hil",
        "run",
        "--rsu",
        "127.0.0.1:1",
        "--realtime",
        "--duration",
        "1",
        "--workdir",
        str(tmp_path),
        timeout_s=60,
    )
    assert result.returncode == 2
    assert "with --rsu the site file must give every sensor input's port" in result.stderr


COLOGNE1 = Path(__file__).parents[3] / "shared" / "scenarios" / "cologne1"


@pytest.mark.slow
@pytest.mark.skipif(not COLOGNE1.is_dir(), reason="the shared city scenarios are not here")
def test_a_city_scenario_without_a_site_file_runs_as_it_is(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = run_vicoop(
        "hil",
        "run",
        "--scenario",
        str(COLOGNE1),
        "--duration",
        "20",
        "--clients",
        "2",
        "--json",
        str(out),
        "--workdir",
        str(tmp_path),
        timeout_s=300,
    )
    assert result.returncode == 0, result.stderr
    r = json.loads(out.read_text())
    assert r["site_file"] == str(
        tmp_path / "cologne1.site.yaml"
    )  # generated, not written into the scenario
    assert list(r["rsus"]) == ["cologne1-cluster_357187_359543"]
    assert r["mota"] > 0.8 and r["frames_lost"] == 0 and r["faults"] == {}
    assert not list(COLOGNE1.glob("*.site.yaml"))
