"""Converting an RSU's ENU objects to WGS84 and to a vehicle's body frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import make_object
from vehicle import (
    EgoPose,
    GeodeticOrigin,
    PerceptionFrame,
    enu_to_wgs84,
    objects_to_ego,
    objects_to_wgs84,
    wgs84_to_enu,
)

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
WGS84_A, WGS84_E2 = 6378137.0, 6.69437999014e-3


def _frame(*objects: object) -> PerceptionFrame:
    return PerceptionFrame("rsu", 1, 0, 0, ORIGIN, objects=tuple(objects))  # type: ignore[arg-type]


def test_one_kilometre_north_matches_the_meridian_radius() -> None:
    phi = math.radians(ORIGIN.latitude_deg)
    meridian_radius = WGS84_A * (1 - WGS84_E2) / (1 - WGS84_E2 * math.sin(phi) ** 2) ** 1.5
    lat, lon, alt = enu_to_wgs84(np.array([[0.0, 1000.0, 0.0]]), ORIGIN)[0]
    assert lat - ORIGIN.latitude_deg == pytest.approx(
        math.degrees(1000.0 / meridian_radius), rel=1e-4
    )
    assert lon == pytest.approx(ORIGIN.longitude_deg, abs=1e-12)
    assert alt == pytest.approx(ORIGIN.altitude_m + 0.0785, abs=0.001)  # the ellipsoid falls away


def test_wgs84_round_trip() -> None:
    points = np.array([[12.5, -40.0, 1.0], [250.0, 300.0, -2.0]])
    back = wgs84_to_enu(enu_to_wgs84(points, ORIGIN), ORIGIN)
    assert back == pytest.approx(points, abs=1e-6)


def test_objects_to_wgs84_uses_the_frame_origin() -> None:
    frame = _frame(make_object(1, x=0.0, y=0.0))
    lat, lon, _ = objects_to_wgs84(frame)[0]
    assert (lat, lon) == pytest.approx((ORIGIN.latitude_deg, ORIGIN.longitude_deg), abs=1e-9)


def test_ego_facing_north_at_the_rsu_origin() -> None:
    ego = EgoPose.from_compass(
        ORIGIN.latitude_deg, ORIGIN.longitude_deg, ORIGIN.altitude_m, heading_deg=0.0
    )
    assert ego.yaw_rad == pytest.approx(math.pi / 2)
    frame = _frame(
        make_object(1, x=0.0, y=10.0),  # ahead
        make_object(2, x=-5.0, y=0.0, vx=3.0, heading_rad=0.0),  # to the left, driving east
    )
    ego_objects = objects_to_ego(frame, ego)
    assert ego_objects.positions[0, :2] == pytest.approx([10.0, 0.0], abs=1e-6)
    assert ego_objects.positions[1, :2] == pytest.approx([0.0, 5.0], abs=1e-6)
    assert ego_objects.velocities[1, :2] == pytest.approx([0.0, -3.0], abs=1e-6)
    assert ego_objects.headings_rad[1] == pytest.approx(-math.pi / 2, abs=1e-6)


def test_ego_away_from_the_rsu_origin() -> None:
    ego_lat, ego_lon, ego_alt = enu_to_wgs84(np.array([[100.0, 0.0, 0.0]]), ORIGIN)[0]
    ego = EgoPose(ego_lat, ego_lon, ego_alt, yaw_rad=0.0)  # facing east
    ego_objects = objects_to_ego(_frame(make_object(1, x=110.0, y=0.0)), ego)
    # 0.75 m up at the object's box centre; 10 m ahead, within a centimetre over 100 m.
    assert ego_objects.positions[0] == pytest.approx([10.0, 0.0, 0.75], abs=0.01)
