"""The typed result of a run and its JSON: the keys a test engineer reads, written from one place."""

from __future__ import annotations

import json
from dataclasses import replace

from hil.faults import Evidence, RadarSilent, RsuRestart
from hil.result import (
    LatencySplit,
    Percentiles,
    ReportSeries,
    RsuResult,
    RunResult,
    SensorFigures,
    SpatFigures,
    UdpLinkFigures,
)
from hil.scoring import TrackingScore

NONE = Percentiles(None, None, None)


def _result() -> RunResult:
    fault = RsuRestart()
    fault.start_s = 15.0
    crashed = RadarSilent()  # its check cannot be evaluated on no evidence at all
    score = TrackingScore(0.9, 0.8, 0.7, 0.3, 0.5, 10, 100, 90, 10, 0, 1)
    return RunResult(
        scenario="crossing.sumocfg",
        mode="lockstep",
        rsu_mode="inprocess",
        duration_s=30.0,
        wall_s=12.5,
        vehicle_clients=2,
        mota=0.9,
        idf1=0.8,
        hota=0.7,
        position_rmse_m=0.3,
        velocity_rmse_mps=0.5,
        latency_ms=Percentiles.of([0.001, 0.002]),
        latency_basis="receive - publish call (wall clock; lock-step)",
        latency_ms_outside_faults=Percentiles.of([0.001]),
        measurement_to_vehicle_ms=NONE,
        latency_split_ms=LatencySplit(NONE, NONE),
        frames_published={"rsu-1": 300},
        frames_received=600,
        frames_lost=1,
        frames_lost_outside_faults=0,
        frames_lost_outside_faults_at_s=[(1.5, 1, "vehicle-1")],
        client_reconnects=0,
        mota_outside_faults=0.95,
        barrier_timeouts=0,
        faults={
            "rsu_restart": fault.report(_no_evidence()),
            "radar_silent": crashed.report(None),  # type: ignore[arg-type]
        },
        rsus={
            "rsu-1": RsuResult(
                score=score,
                target="127.0.0.1:50051",
                sensors={"radar-1": SensorFigures("radar", 300, 299, 1, {"OK": 1.0})},
                udp_link=UdpLinkFigures(299, 0, 0),
                signal_states_sent=0,
            )
        },
        site_file="crossing.site.yaml",
        report=ReportSeries(latencies_ms=[1.0, 2.0]),
    )


def _no_evidence() -> Evidence:
    return Evidence(probes=[], health=[], timeline=[], silent_after_s=1.0, period_s=0.1)


def test_the_json_has_the_documented_keys_in_order_and_no_report_series() -> None:
    out = json.loads(json.dumps(_result().to_json()))
    assert list(out) == [
        "scenario",
        "mode",
        "rsu_mode",
        "duration_s",
        "wall_s",
        "vehicle_clients",
        "mota",
        "idf1",
        "hota",
        "position_rmse_m",
        "velocity_rmse_mps",
        "latency_ms",
        "latency_basis",
        "latency_ms_outside_faults",
        "measurement_to_vehicle_ms",
        "latency_split_ms",
        "frames_published",
        "frames_received",
        "frames_lost",
        "frames_lost_outside_faults",
        "frames_lost_outside_faults_at_s",
        "client_reconnects",
        "mota_outside_faults",
        "barrier_timeouts",
        "faults",
        "rsus",
        "site_file",
        "spat",
        "spat_not_measured",
        "glosa",
    ]
    assert out["spat"] is None and out["glosa"] is None
    assert out["latency_ms"] == {"p50": 1.5, "p99": 1.99, "max": 2.0}
    assert out["latency_split_ms"] == {
        "tick_to_published": {"p50": None, "p99": None, "max": None},
        "published_to_received": {"p50": None, "p99": None, "max": None},
    }
    assert out["frames_lost_outside_faults_at_s"] == [[1.5, 1, "vehicle-1"]]


def test_per_rsu_figures_spread_the_score_and_keep_the_udp_link_among_the_sensors() -> None:
    rsu = json.loads(json.dumps(_result().to_json()))["rsus"]["rsu-1"]
    assert list(rsu)[:11] == [
        "mota",
        "idf1",
        "hota",
        "position_rmse_m",
        "velocity_rmse_mps",
        "frames",
        "ground_truth_objects",
        "matches",
        "misses",
        "false_positives",
        "id_switches",
    ]
    assert rsu["target"] == "127.0.0.1:50051" and rsu["signal_states_sent"] == 0
    assert rsu["sensors"] == {
        "radar-1": {
            "kind": "radar",
            "cycles_measured": 300,
            "datagrams_sent": 299,
            "silenced_by_fault": 1,
            "health_share": {"OK": 1.0},
        },
        "udp_link": {"datagrams": 299, "lost": 0, "reordered": 0},
    }


def test_faults_report_their_window_outcome_and_figures_or_why_they_could_not() -> None:
    result = _result()
    faults = result.to_json()["faults"]
    restart = faults["rsu_restart"]
    assert list(restart)[:4] == ["start_s", "duration_s", "expected", "passed"]
    assert restart["start_s"] == 15.0 and restart["passed"] is False  # no client resumed
    assert restart["slowest_client_resume_s"] is None
    crashed = faults["radar_silent"]
    assert crashed["passed"] is False and crashed["error"].startswith("AttributeError")
    assert result.failed_faults == ["rsu_restart", "radar_silent"]


def test_the_spat_figures_are_one_object_in_the_json() -> None:
    spat = SpatFigures(
        intersections=["B1"],
        latency_ms=Percentiles.of([0.001, 0.002]),
        latency_basis="receive - the rig's spat_at call (wall clock; lock-step)",
        updates_received=10,
        changes=6,
        outside_window=0,
        predictions_judged=20,
        likely_end_error_s={"fixed_time": {"p50": 0.0, "p90": 0.05}},
        lane_match_rate=0.99,
        lane_match_samples=100,
        client_wait_timeouts=0,
    )
    out = json.loads(json.dumps(replace(_result(), spat=spat).to_json()))
    assert out["spat"]["latency_ms"] == {"p50": 1.5, "p99": 1.99, "max": 2.0}
    assert out["spat"]["likely_end_error_s"] == {"fixed_time": {"p50": 0.0, "p90": 0.05}}
    assert out["spat"]["changes"] == 6 and out["spat"]["lane_match_rate"] == 0.99
