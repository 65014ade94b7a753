"""Faults are asked what they are by type: the rig never compares their names."""

from __future__ import annotations

from hil.faults import (
    REGISTRY,
    CameraSilent,
    Fault,
    FaultReport,
    RadarSilent,
    SensorSilent,
    StalledClient,
    VehicleLinkDelay,
    VehicleLinkFault,
    VehicleLinkLoss,
    make_faults,
)
from vicoop.model import SensorKind


def test_the_registry_holds_fault_types_by_their_names() -> None:
    assert all(issubclass(t, Fault) and t.name == name for name, t in REGISTRY.items())
    assert [type(f) for f in make_faults(["all"])] == list(REGISTRY.values())


def test_what_the_rig_asks_of_a_fault_is_its_type() -> None:
    faults = make_faults(["radar_silent", "camera_silent", "vehicle_link_delay", "stalled_client"])
    silent = [f for f in faults if isinstance(f, SensorSilent)]
    assert [(f.kind, f.other) for f in silent] == [
        (SensorKind.RADAR, SensorKind.CAMERA),
        (SensorKind.CAMERA, SensorKind.RADAR),
    ]
    assert [type(f) for f in faults if isinstance(f, VehicleLinkFault)] == [VehicleLinkDelay]
    assert issubclass(VehicleLinkLoss, VehicleLinkFault)
    assert not issubclass(StalledClient, VehicleLinkFault | SensorSilent)
    assert issubclass(RadarSilent, SensorSilent) and issubclass(CameraSilent, SensorSilent)


def test_a_fault_report_writes_its_window_outcome_figures_and_error() -> None:
    ok = FaultReport(15.0, 6.0, "tracks continue", True, {"objects_during": 4.0})
    assert ok.to_json() == {
        "start_s": 15.0,
        "duration_s": 6.0,
        "expected": "tracks continue",
        "passed": True,
        "objects_during": 4.0,
    }
    failed = FaultReport(15.0, 6.0, "tracks continue", False, error="KeyError: 'x'")
    assert failed.to_json()["error"] == "KeyError: 'x'" and failed.to_json()["passed"] is False
