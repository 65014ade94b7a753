"""The simulated sensors: field of view, occlusion, range-dependent detection, camera projection."""

from __future__ import annotations

import math

import numpy as np

from hil.sensors import (
    CameraModel,
    CameraSimConfig,
    RadarSimConfig,
    detection_probability,
    hidden_share,
    measure_camera,
    measure_radar,
    radar_visible,
)
from hil.truth import GroundTruth
from roadside.calibration import CameraProjector, RadarProjector
from roadside.calibration.config import (
    CameraCalibrationConfig,
    ExtrinsicsConfig,
    RadarMountingConfig,
)
from roadside.sources.fused import camera_coverage, camera_scan, radar_scan
from roadside.sources.fused_config import CameraSensorConfig, RadarSensorConfig
from vicoop.model import ObjectClass

CAR = int(ObjectClass.CAR)
RADAR = RadarSensorConfig(
    mounting=RadarMountingConfig(x_m=0.0, y_m=0.0, z_m=1.0, yaw_rad=0.0),
    half_fov_rad=math.radians(45),
    max_range_m=100.0,
)


def cars(
    xy: list[tuple[float, float]], heights: list[float] | None = None, t_ns: int = 1
) -> GroundTruth:
    n = len(xy)
    sizes = np.tile([4.5, 1.8, 1.5], (n, 1))
    if heights is not None:
        sizes[:, 2] = heights
    return GroundTruth(
        t_ns,
        np.arange(1, n + 1, dtype=np.int64),
        np.array(xy, dtype=float).reshape(n, 2),
        np.tile([10.0, 0.0], (n, 1)),
        np.zeros(n),
        np.full(n, CAR, dtype=np.int64),
        sizes,
    )


def test_radar_sees_only_inside_its_field_of_view_and_reach() -> None:
    truth = cars([(50.0, 0.0), (50.0, 60.0), (-20.0, 0.0), (120.0, 0.0), (60.0, -55.0)])
    assert radar_visible(truth, RADAR, RadarSimConfig()).tolist() == [
        True,
        False,
        False,
        False,
        True,
    ]


def test_a_car_right_behind_another_is_hidden_from_a_low_radar() -> None:
    truth = cars([(30.0, 0.0), (50.0, 0.0), (50.0, 10.0)])
    hidden = hidden_share(truth, (0.0, 0.0, 1.0), 0.0)
    assert hidden.tolist() == [0.0, 1.0, 0.0]
    assert radar_visible(truth, RADAR, RadarSimConfig()).tolist() == [True, False, True]


def test_a_camera_high_up_sees_over_a_car_but_not_over_a_bus() -> None:
    two_cars = cars([(20.0, 0.0), (40.0, 0.0)])
    assert hidden_share(two_cars, (0.0, 0.0, 1.0), 0.0).tolist() == [0.0, 1.0]
    assert hidden_share(two_cars, (0.0, 0.0, 8.0), 0.0).tolist() == [0.0, 0.0]
    bus_then_car = cars([(20.0, 0.0), (25.0, 0.0)], heights=[3.2, 1.5])
    assert hidden_share(bus_then_car, (0.0, 0.0, 8.0), 0.0).tolist() == [0.0, 1.0]


def test_detection_probability_falls_quadratically_with_range() -> None:
    sim = RadarSimConfig(p_detect_near=1.0, p_detect_far=0.5, vulnerable_factor=0.5)
    pd = detection_probability(
        np.array([0.0, 50.0, 100.0, 100.0]),
        np.array([CAR, CAR, CAR, int(ObjectClass.PEDESTRIAN)]),
        RADAR,
        sim,
    )
    assert np.allclose(pd, [1.0, 0.875, 0.5, 0.25])


def test_seeded_radar_detects_as_often_as_its_detection_probability() -> None:
    sim = RadarSimConfig(p_detect_near=1.0, p_detect_far=0.5, clutter_per_scan=0.0)
    near, far = cars([(10.0, 0.0)]), cars([(99.0, 0.0)])
    rng = np.random.default_rng(42)
    hits_near = sum(len(measure_radar(near, RADAR, sim, rng)) for _ in range(2000))
    hits_far = sum(len(measure_radar(far, RADAR, sim, rng)) for _ in range(2000))
    assert hits_near == 1988  # Pd 0.995 at 10 m, this seed: 12 misses
    assert abs(hits_far / 2000 - 0.5) < 0.03


def test_radar_measures_range_azimuth_and_radial_speed_of_the_reflection() -> None:
    sim = RadarSimConfig(
        clutter_per_scan=0.0, reflection_spread=0.0, p_detect_near=1.0, p_detect_far=1.0
    )
    truth = cars([(40.0, 30.0)])
    m = measure_radar(truth, RADAR, sim, np.random.default_rng(1))
    assert m.truth_ids.tolist() == [1]
    assert abs(m.ranges_m[0] - math.hypot(50.0, 1.0)) < 1.5
    assert abs(m.azimuths_rad[0] - math.atan2(30, 40)) < 0.03
    assert abs(m.radial_speeds_mps[0] - 10.0 * 40 / 50) < 1.0
    scan = radar_scan(m.as_cycle("radar-1", 7), RadarProjector(RADAR.mounting, RADAR.noise), None)
    assert (scan.sensor_id, scan.measured_at_ns) == ("radar-1", truth.t_ns)
    assert np.hypot(*(scan.positions[0] - truth.positions[0])) < 1.5


def test_clutter_burst_adds_false_returns_inside_the_field_of_view() -> None:
    sim = RadarSimConfig(clutter_per_scan=2.0)
    m = measure_radar(cars([]), RADAR, sim, np.random.default_rng(3), clutter_per_scan=50.0)
    assert len(m) > 30 and (m.truth_ids == -1).all()
    assert (np.abs(m.azimuths_rad) <= RADAR.half_fov_rad).all() and (m.ranges_m <= 100.0).all()


CAMERA = CameraSensorConfig(
    calibration=CameraCalibrationConfig(
        extrinsics=ExtrinsicsConfig(x_m=0.0, y_m=0.0, z_m=8.0, yaw_rad=0.0, pitch_rad=0.22)
    )
)


def test_camera_boxes_land_where_the_rsu_calibration_puts_them() -> None:
    truth = cars([(30.0, 0.0), (45.0, 8.0), (25.0, -5.0)])
    sim = CameraSimConfig(
        p_detect=1.0, false_positives_per_frame=0.0, pixel_sigma_px=0.0, p_class=1.0
    )
    model = CameraModel(CAMERA)
    m = measure_camera(truth, model, sim, np.random.default_rng(0))
    assert sorted(m.truth_ids.tolist()) == [1, 2, 3]
    frame = m.as_frame("camera-1", 1)
    scan = camera_scan(frame, CameraProjector(CAMERA.calibration), camera_coverage(CAMERA))
    for tid, pos in zip(m.truth_ids, scan.positions, strict=True):
        assert np.hypot(*(truth.positions[tid - 1] - pos)) < 1.0


def test_camera_misses_what_is_out_of_the_image_and_tiny_boxes() -> None:
    truth = cars([(30.0, 0.0), (-30.0, 0.0), (30.0, 40.0), (85.0, 0.0)])
    visible, _boxes = CameraModel(CAMERA).visible(truth, CameraSimConfig())
    assert visible.tolist() == [True, False, False, True]
    sim = CameraSimConfig(p_detect=1.0, min_box_height_px=200.0, false_positives_per_frame=0.0)
    m = measure_camera(truth, CameraModel(CAMERA), sim, np.random.default_rng(0))
    assert m.truth_ids.tolist() == []  # every box is shorter than 200 px
