"""Calibration: radar polar -> ENU, camera pixel -> ground with covariance, homography fitting."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pymap3d
import pytest

from console.cli import main
from roadside.calibration import (
    CameraCalibrationConfig,
    CameraProjector,
    ExtrinsicsConfig,
    RadarMountingConfig,
    RadarNoiseConfig,
    RadarProjector,
    SurveyPoint,
    fit_homography,
)
from roadside.calibration.camera import camera_matrix, camera_rotation, ground_homography
from vicoop.errors import ConfigError
from vicoop.model import GeodeticOrigin, ObjectClass

EXTRINSICS = ExtrinsicsConfig(
    x_m=-10.0, y_m=-10.0, z_m=8.0, yaw_rad=math.pi / 4, pitch_rad=0.25, roll_rad=0.01
)
CAMERA = CameraCalibrationConfig(
    extrinsics=EXTRINSICS, distortion=(-0.12, 0.03, 0.001, -0.001, 0.0)
)
ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)


def to_pixels(config: CameraCalibrationConfig, ground_xy: np.ndarray) -> np.ndarray:
    assert config.extrinsics is not None
    e = config.extrinsics
    r_cw = camera_rotation(e).T
    pts = np.column_stack([ground_xy, np.zeros(len(ground_xy))])
    rvec, _ = cv2.Rodrigues(r_cw)
    tvec = -r_cw @ np.array([e.x_m, e.y_m, e.z_m])
    px, _ = cv2.projectPoints(pts, rvec, tvec, camera_matrix(config), np.array(config.distortion))
    return px.reshape(-1, 2)


def test_radar_polar_to_enu_with_covariance() -> None:
    proj = RadarProjector(
        RadarMountingConfig(x_m=1.0, y_m=2.0, z_m=0.0, yaw_rad=math.pi / 2),
        RadarNoiseConfig(range_sigma_m=0.5, azimuth_sigma_rad=0.01, extent_sigma_m=0.0),
    )
    g = proj.project((np.array([10.0]), np.array([0.0])))
    np.testing.assert_allclose(g.positions, [[1.0, 12.0]], atol=1e-12)
    # Range along north, azimuth across (to the west): variances 0.25 and (10 * 0.01)^2.
    np.testing.assert_allclose(g.covariances[0], [[0.01, 0.0], [0.0, 0.25]], atol=1e-12)


def test_radar_slant_range_is_reduced_to_ground_range() -> None:
    proj = RadarProjector(RadarMountingConfig(z_m=3.0), RadarNoiseConfig())
    g = proj.project((np.array([5.0]), np.array([0.0])))
    np.testing.assert_allclose(g.positions, [[4.0, 0.0]])


def test_camera_pixels_back_to_the_ground_through_distortion() -> None:
    ground = np.array([[0.0, 0.0], [15.0, 5.0], [20.0, 30.0], [-5.0, 25.0]])
    px = to_pixels(CAMERA, ground)
    back, _ = CameraProjector(CAMERA).pixels_to_ground(px)
    np.testing.assert_allclose(back, ground, atol=1e-4)


def test_camera_covariance_is_pixel_noise_through_the_projection() -> None:
    proj = CameraProjector(CAMERA)
    px = to_pixels(CAMERA, np.array([[20.0, 20.0]]))
    _, j = proj.pixels_to_ground(px)
    for axis in range(2):  # the Jacobian matches finite differences of the whole projection
        d = np.zeros((1, 2))
        d[0, axis] = 0.01
        num = (proj.pixels_to_ground(px + d)[0] - proj.pixels_to_ground(px - d)[0]) / 0.02
        np.testing.assert_allclose(j[0, :, axis], num[0], rtol=1e-3, atol=1e-6)
    proj_no_offset = CameraProjector(
        CAMERA.model_copy(
            update={"extrinsics": None, "homography": tuple(map(tuple, ground_homography(CAMERA)))}
        )
    )
    box = np.array([[px[0, 0] - 30, px[0, 1] - 60, px[0, 0] + 30, px[0, 1]]])
    g = proj_no_offset.project((box, np.array([int(ObjectClass.CAR)])))
    sigma2 = CAMERA.pixel_sigma_px**2
    np.testing.assert_allclose(
        g.covariances[0], j[0] @ np.diag([sigma2 / 2, sigma2]) @ j[0].T, rtol=1e-6
    )
    np.testing.assert_allclose(g.positions[0], [20.0, 20.0], atol=1e-4)


def test_box_contact_point_moves_to_the_object_centre_along_the_line_of_sight() -> None:
    proj = CameraProjector(CAMERA)
    px = to_pixels(CAMERA, np.array([[20.0, 20.0]]))
    box = np.array([[px[0, 0] - 30, px[0, 1] - 60, px[0, 0] + 30, px[0, 1]]])
    g = proj.project((box, np.array([int(ObjectClass.CAR)])))
    offset = (4.5 + 1.8) / math.pi
    np.testing.assert_allclose(
        g.positions[0], [20.0 + offset / math.sqrt(2), 20.0 + offset / math.sqrt(2)], atol=1e-3
    )


def test_homography_fit_from_surveyed_points() -> None:
    ground = np.array(
        [[0.0, 0.0], [30.0, 0.0], [0.0, 30.0], [30.0, 30.0], [15.0, 40.0], [40.0, 10.0]]
    )
    px = to_pixels(CAMERA, ground)
    lat, lon, _ = pymap3d.enu2geodetic(
        ground[:, 0],
        ground[:, 1],
        0.0,
        ORIGIN.latitude_deg,
        ORIGIN.longitude_deg,
        ORIGIN.altitude_m,
    )
    points = [
        SurveyPoint(float(u), float(v), float(a), float(b))
        for (u, v), a, b in zip(px, lat, lon, strict=True)
    ]
    fit = fit_homography(points, ORIGIN, camera_matrix(CAMERA), np.array(CAMERA.distortion))
    assert fit.rms_m < 1e-3
    assert fit.rms_px < 1e-2
    with pytest.raises(ConfigError, match="at least 4"):
        fit_homography(points[:3], ORIGIN)


def test_calibrate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = CameraCalibrationConfig(extrinsics=EXTRINSICS)
    ground = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0], [30.0, 30.0], [15.0, 40.0]])
    px = to_pixels(plain, ground)
    lat, lon, _ = pymap3d.enu2geodetic(
        ground[:, 0],
        ground[:, 1],
        0.0,
        ORIGIN.latitude_deg,
        ORIGIN.longitude_deg,
        ORIGIN.altitude_m,
    )
    csv = tmp_path / "points.csv"
    csv.write_text(
        "u,v,lat,lon\n"
        + "".join(f"{u},{v},{a:.10f},{b:.10f}\n" for (u, v), a, b in zip(px, lat, lon, strict=True))
    )
    assert main(["rsu", "calibrate", "--points", str(csv)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["points"] == 5
    assert out["reprojection_rms_m"] < 1e-3
    h = np.array(out["homography"])
    np.testing.assert_allclose(h, ground_homography(plain), rtol=1e-3, atol=1e-6)
    bad = tmp_path / "bad.csv"
    bad.write_text("u,v,lat,lon\n1,2,3\n")
    assert main(["rsu", "calibrate", "--points", str(bad)]) == 2
    assert "bad.csv: line 2" in capsys.readouterr().err


def test_camera_view_axis_and_centre_offsets_for_the_tracker() -> None:
    proj = CameraProjector(CAMERA)
    assert proj.view_axis_rad == pytest.approx(
        EXTRINSICS.yaw_rad, abs=0.02
    )  # roll tilts it a little
    px = to_pixels(CAMERA, np.array([[20.0, 20.0]]))
    box = np.array([[px[0, 0] - 30, px[0, 1] - 60, px[0, 0] + 30, px[0, 1]]])
    g = proj.project((box, np.array([int(ObjectClass.BUS)])))
    assert g.centre_offsets is not None and g.centre_offset_vars is not None
    assert g.centre_offsets[0] == pytest.approx((12.0 + 2.55) / math.pi, rel=0.01)
    assert g.centre_offset_vars[0] > 0
