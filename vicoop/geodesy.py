"""Conversions between WGS84 and a site's local ENU frame: the one place positions change frame.

Frames and units:

- geodetic: WGS84 latitude and longitude in degrees (longitude in [-180, 180)), altitude in
  metres above the WGS84 ellipsoid;
- ENU: metres east, north and up from a ``GeodeticOrigin``, the axes of the tangent plane at the
  origin (up along the ellipsoid's normal there).

Arrays are numpy float64 with one point per row: (M, 3) ``[lat, lon, alt]`` or ``[e, n, u]``.

Two kinds of conversion:

- exact (``geodetic_to_enu``, ``enu_to_geodetic``, ``enu_to_enu``): through ECEF with
  ``pymap3d``, to well under a millimetre at any distance; about 0.4 ms for 50 points;
- first order (``tangent_plane(origin).to_lat_lon`` / ``.to_east_north``): latitude and longitude
  change linearly with north and east, with the ellipsoid's radii of curvature at the origin.
  About 15 us for 50 points, for the hot paths (the cloud twin converts every summary's
  objects). Its error grows as ``d**2 * |tan(lat0)| / (sqrt(3) * R)``
  at a distance ``d`` from the origin (bound and derivation in ``TangentPlane``): 2.7 cm at 500 m
  and 11 cm at 1 km at latitude 50 degrees. Use the exact functions beyond a few km, near the
  poles, or where a centimetre matters.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pymap3d

from vicoop.model import GeodeticOrigin

__all__ = [
    "TangentPlane",
    "enu_rotation",
    "enu_to_enu",
    "enu_to_geodetic",
    "geodetic_to_enu",
    "tangent_plane",
]

Array = npt.NDArray[np.float64]

_WGS84_A_M = 6_378_137.0
_WGS84_E2 = 6.694_379_990_14e-3
_DEG_PER_RAD = 180.0 / math.pi


def _rows(points: npt.ArrayLike, columns: int) -> Array:
    out: Array = np.atleast_2d(np.asarray(points, dtype=np.float64))
    if out.ndim != 2 or out.shape[1] != columns:
        raise ValueError(f"expected an (M, {columns}) array, got shape {out.shape}")
    return out


def geodetic_to_enu(points: npt.ArrayLike, origin: GeodeticOrigin) -> Array:
    """Exact: (M, 3) latitude (deg), longitude (deg), altitude (m) -> (M, 3) ENU metres about
    ``origin``. (M, 2) latitude, longitude points are taken at the origin's altitude."""
    p = np.atleast_2d(np.asarray(points, dtype=np.float64))
    if p.ndim == 2 and p.shape[1] == 2:
        p = np.column_stack([p, np.full(len(p), origin.altitude_m)])
    p = _rows(p, 3)
    e, n, u = pymap3d.geodetic2enu(
        p[:, 0], p[:, 1], p[:, 2], origin.latitude_deg, origin.longitude_deg, origin.altitude_m
    )
    return np.column_stack([e, n, u])


def enu_to_geodetic(positions: npt.ArrayLike, origin: GeodeticOrigin) -> Array:
    """Exact: (M, 3) ENU metres about ``origin`` -> (M, 3) latitude (deg), longitude (deg),
    altitude (m)."""
    p = _rows(positions, 3)
    lat, lon, alt = pymap3d.enu2geodetic(
        p[:, 0], p[:, 1], p[:, 2], origin.latitude_deg, origin.longitude_deg, origin.altitude_m
    )
    return np.column_stack([lat, lon, alt])


def enu_to_enu(positions: npt.ArrayLike, source: GeodeticOrigin, target: GeodeticOrigin) -> Array:
    """Exact: (M, 3) ENU metres about ``source`` -> (M, 3) ENU metres about ``target``."""
    p = _rows(positions, 3)
    x, y, z = pymap3d.enu2ecef(
        p[:, 0], p[:, 1], p[:, 2], source.latitude_deg, source.longitude_deg, source.altitude_m
    )
    e, n, u = pymap3d.ecef2enu(
        x, y, z, target.latitude_deg, target.longitude_deg, target.altitude_m
    )
    return np.column_stack([e, n, u])


def _ecef_axes(origin: GeodeticOrigin) -> Array:
    """Rows: the east, north and up unit vectors of ``origin``'s ENU frame, in ECEF."""
    lat, lon = math.radians(origin.latitude_deg), math.radians(origin.longitude_deg)
    sl, cl, sp, cp = math.sin(lon), math.cos(lon), math.sin(lat), math.cos(lat)
    return np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])


def enu_rotation(source: GeodeticOrigin, target: GeodeticOrigin) -> Array:
    """The (3, 3) rotation taking vectors (velocities, directions) from ``source``'s ENU axes to
    ``target``'s: ``v_target = R @ v_source``, or ``V @ R.T`` for (M, 3) rows."""
    out: Array = _ecef_axes(target) @ _ecef_axes(source).T
    return out


@dataclass(frozen=True, slots=True)
class TangentPlane:
    """First-order conversion between horizontal ENU metres about ``origin`` and WGS84 degrees.

    ``north_m_per_rad`` and ``east_m_per_rad`` are metres per radian of latitude and of longitude
    at the origin: the meridian radius of curvature M, and the prime vertical radius N times
    cos(latitude), both at the origin's altitude. Up is ignored: a point u metres above the
    tangent plane converts as its foot on it (the exact conversion would move it by about
    u * d / R horizontally, 0.2 mm for 1 m at 1 km).

    Error bound, both directions, for |latitude| <= 85 degrees, distances d up to 10 km and
    altitudes above -1 km (tested against pymap3d)::

        horizontal error (m) <= d**2 / R * (|tan(lat0)| / sqrt(3) + d / R),  R = 6 335 439 m

    e.g. 2.7 cm at 500 m and 11 cm at 1 km at latitude 50 degrees, 1.6 mm at 1 km at 1 degree.

    Derivation (on a sphere of radius R first): walking a straight line east by e and north by
    n in the tangent plane, the exact latitude falls short of the linear one by
    e**2 * tan(lat0) / (2 R) (a line heading east leaves the parallel towards the equator), and
    the parallels there are shorter by n * tan(lat0) / R relative to the origin's, so the
    longitude is off by e * n * tan(lat0) / R metres. With e**2 + n**2 = d**2 the combined error,
    (|tan(lat0)| / R) * e * sqrt(e**2 / 4 + n**2), is largest at e**2 = 2 d**2 / 3:
    d**2 * |tan(lat0)| / (sqrt(3) * R). On the ellipsoid the bound takes R as its smallest radius
    of curvature, a (1 - e2) (the meridian's at the equator), which covers the variation of the
    radii (under 0.4 % of the leading term); the d**3 / R**2 term covers the third-order rest:
    the tangent plane rising off the ellipsoid (about d**3 / (3 R**2)), which dominates only
    near the equator.
    """

    origin: GeodeticOrigin
    north_m_per_rad: float
    east_m_per_rad: float

    @classmethod
    def at(cls, origin: GeodeticOrigin) -> TangentPlane:
        """The tangent plane at ``origin`` (``tangent_plane`` caches it for sites' origins)."""
        phi = math.radians(origin.latitude_deg)
        w = 1.0 - _WGS84_E2 * math.sin(phi) ** 2
        meridian = _WGS84_A_M * (1.0 - _WGS84_E2) / w**1.5
        prime_vertical = _WGS84_A_M / math.sqrt(w)
        return cls(
            origin,
            meridian + origin.altitude_m,
            (prime_vertical + origin.altitude_m) * math.cos(phi),
        )

    def to_lat_lon(self, east_m: npt.ArrayLike, north_m: npt.ArrayLike) -> tuple[Array, Array]:
        """Latitude and longitude (degrees) of points ``east_m``, ``north_m`` metres (arrays of
        one shape) from the origin."""
        north = np.asarray(north_m, dtype=np.float64)
        east = np.asarray(east_m, dtype=np.float64)
        lat: Array = self.origin.latitude_deg + north * (_DEG_PER_RAD / self.north_m_per_rad)
        lon = self.origin.longitude_deg + east * (_DEG_PER_RAD / self.east_m_per_rad)
        return lat, _wrap_deg(lon)

    def to_east_north(
        self, latitude_deg: npt.ArrayLike, longitude_deg: npt.ArrayLike
    ) -> tuple[Array, Array]:
        """East and north metres from the origin of points at ``latitude_deg``,
        ``longitude_deg`` (degrees, arrays of one shape)."""
        dlat = np.asarray(latitude_deg, dtype=np.float64) - self.origin.latitude_deg
        dlon = _wrap_deg(np.asarray(longitude_deg, dtype=np.float64) - self.origin.longitude_deg)
        east: Array = dlon * (self.east_m_per_rad / _DEG_PER_RAD)
        north: Array = dlat * (self.north_m_per_rad / _DEG_PER_RAD)
        return east, north


def _wrap_deg(deg: npt.ArrayLike) -> Array:
    """Degrees to [-180, 180)."""
    out: Array = (np.asarray(deg, dtype=np.float64) + 180.0) % 360.0 - 180.0
    return out


@functools.lru_cache(maxsize=4096)
def tangent_plane(origin: GeodeticOrigin) -> TangentPlane:
    """``TangentPlane.at(origin)``, cached: sites keep their origins, and the twin converts with
    the same few on every summary."""
    return TangentPlane.at(origin)
