"""The twin's fast ENU -> WGS84 conversion stays within 3 cm of the exact one over an RSU's coverage."""

from __future__ import annotations

import numpy as np
import pymap3d

from cloud.twin import _metres_per_radian, enu_to_lat_lon
from vicoop.model import GeodeticOrigin


def test_within_three_centimetres_of_pymap3d_inside_500_m() -> None:
    for origin in (GeodeticOrigin(50.9375, 6.9603, 55.0), GeodeticOrigin(-33.86, 151.21, 5.0)):
        rng = np.random.default_rng(7)
        angle, radius = rng.uniform(0, 2 * np.pi, 2000), 500 * np.sqrt(rng.uniform(0, 1, 2000))
        east, north = radius * np.cos(angle), radius * np.sin(angle)
        lat, lon = enu_to_lat_lon(origin, east, north)
        exact_lat, exact_lon, _ = pymap3d.enu2geodetic(
            east, north, 0.0 * east, origin.latitude_deg, origin.longitude_deg, origin.altitude_m
        )
        per_rad_north, per_rad_east = _metres_per_radian(origin)
        error_m = np.hypot(
            np.radians(lat - exact_lat) * per_rad_north, np.radians(lon - exact_lon) * per_rad_east
        )
        assert error_m.max() < 0.03
        assert error_m.max() > 0.0  # it is an approximation, and the test can tell
