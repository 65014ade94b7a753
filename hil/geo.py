"""SUMO network coordinates to a site's local ENU frame.

SUMO places a network in a projected plane (for geo-referenced nets, UTM shifted by the net's
``netOffset``). Over the few hundred metres an RSU sees, that plane maps to the site's ENU frame
by an affine map to well under a centimetre, so the rig fits one (``NetToEnu``) from points
converted exactly (SUMO's own projection to WGS84, then to the site's ENU frame) and
applies it to every vehicle at every step with one matrix product.

A network without a geo reference has no WGS84 position at all: the rig then takes the net's axes
as east and north and puts the site's origin (a fallback origin chosen in the site file) at the
junction, so ``enu = xy - junction_xy``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vicoop.geodesy import geodetic_to_enu
from vicoop.model import GeodeticOrigin

FloatArray = npt.NDArray[np.float64]
# (x, y) net metres -> (lon, lat) degrees, e.g. libsumo.simulation.convertGeo.
XyToLonLat = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True, eq=False)
class NetToEnu:
    """An affine map from SUMO net (x, y) m to a site's ENU (east, north) m.

    ``matrix`` (2, 2) is the linear part, ``offset`` (2,) the translation:
    ``enu = matrix @ xy + offset``.
    """

    matrix: FloatArray
    offset: FloatArray

    def points(self, xy: FloatArray) -> FloatArray:
        """(N, 2) net points to (N, 2) ENU points."""
        out: FloatArray = (
            np.asarray(xy, dtype=np.float64).reshape(-1, 2) @ self.matrix.T + self.offset
        )
        return out

    def vectors(self, v: FloatArray) -> FloatArray:
        """(N, 2) net vectors (velocities, directions) to ENU vectors."""
        out: FloatArray = np.asarray(v, dtype=np.float64).reshape(-1, 2) @ self.matrix.T
        return out

    def inverse_points(self, enu: FloatArray) -> FloatArray:
        """(N, 2) ENU points back to net points."""
        inv = np.linalg.inv(self.matrix)
        out: FloatArray = (np.asarray(enu, dtype=np.float64).reshape(-1, 2) - self.offset) @ inv.T
        return out

    @property
    def rotation_rad(self) -> float:
        """Angle from the net's x axis to east, counter-clockwise (the grid convergence)."""
        return math.atan2(float(self.matrix[1, 0]), float(self.matrix[0, 0]))

    @staticmethod
    def translation(origin_xy: tuple[float, float]) -> NetToEnu:
        """The map of a net without a geo reference: its axes are east and north, ``origin_xy``
        is the ENU origin."""
        return NetToEnu(np.eye(2), -np.asarray(origin_xy, dtype=np.float64))

    @staticmethod
    def fit(
        to_lonlat: XyToLonLat,
        origin: GeodeticOrigin,
        centre_xy: tuple[float, float],
        half_size_m: float = 300.0,
    ) -> NetToEnu:
        """Fit the map over a square of ``half_size_m`` around ``centre_xy`` (net metres)."""
        grid = np.linspace(-half_size_m, half_size_m, 5)
        xy = np.array([(centre_xy[0] + dx, centre_xy[1] + dy) for dx in grid for dy in grid])
        lonlat = np.array([to_lonlat(float(x), float(y)) for x, y in xy])
        enu = geodetic_to_enu(lonlat[:, ::-1], origin)  # (lat, lon) at the origin's altitude
        a = np.column_stack([xy, np.ones(len(xy))])
        coef, *_ = np.linalg.lstsq(a, enu[:, :2], rcond=None)
        return NetToEnu(coef[:2].T.copy(), coef[2].copy())


def sumo_heading_to_enu(angle_deg: FloatArray, net_to_enu: NetToEnu) -> FloatArray:
    """SUMO angles (degrees clockwise from the net's north, i.e. +y) to ENU headings (rad
    counter-clockwise from east)."""
    a = np.radians(np.asarray(angle_deg, dtype=np.float64))
    d = net_to_enu.vectors(np.column_stack([np.sin(a), np.cos(a)]))
    out: FloatArray = np.arctan2(d[:, 1], d[:, 0])
    return out
