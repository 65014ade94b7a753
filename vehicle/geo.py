"""Converting what an RSU sends into the frames a vehicle uses.

An RSU sends positions in metres in the ENU frame of its own geodetic origin (x east, y north,
z up). These functions turn a frame's objects into WGS84 coordinates, or into a vehicle's own
body frame (x forward, y left, z up, origin at the given pose). All are vectorised over the
frame's objects (numpy arrays of shape (M, 3)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vicoop import geodesy
from vicoop.model import GeodeticOrigin, PerceptionFrame

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EgoPose:
    """A vehicle's pose: WGS84 position and yaw.

    ``yaw_rad`` is the direction of the vehicle's x axis, counter-clockwise from east in the
    vehicle's local ENU frame (0 = facing east, pi/2 = facing north). Use ``from_compass`` for a
    compass heading (degrees clockwise from north).
    """

    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    yaw_rad: float

    @classmethod
    def from_compass(
        cls, latitude_deg: float, longitude_deg: float, altitude_m: float, heading_deg: float
    ) -> EgoPose:
        return cls(latitude_deg, longitude_deg, altitude_m, math.radians(90.0 - heading_deg))


@dataclass(frozen=True, slots=True)
class EgoObjects:
    """Objects in a vehicle's body frame (x forward, y left, z up).

    ``positions`` (M, 3) metres from the ego pose; ``velocities`` (M, 3) over ground in m/s,
    expressed along the body axes (not relative to the ego's own motion); ``headings_rad`` (M,)
    relative to the ego's x axis.
    """

    positions: Array
    velocities: Array
    headings_rad: Array


def enu_to_wgs84(positions: Array, origin: GeodeticOrigin) -> Array:
    """(M, 3) ENU metres about ``origin`` -> (M, 3) latitude (deg), longitude (deg), altitude (m)."""
    return geodesy.enu_to_geodetic(np.asarray(positions, dtype=np.float64).reshape(-1, 3), origin)


def wgs84_to_enu(points: Array, origin: GeodeticOrigin) -> Array:
    """(M, 3) latitude (deg), longitude (deg), altitude (m) -> (M, 3) ENU metres about ``origin``."""
    return geodesy.geodetic_to_enu(np.asarray(points, dtype=np.float64).reshape(-1, 3), origin)


def objects_to_wgs84(frame: PerceptionFrame) -> Array:
    """The frame's object positions as (M, 3) latitude (deg), longitude (deg), altitude (m)."""
    return enu_to_wgs84(frame.positions, frame.origin)


def objects_to_ego(frame: PerceptionFrame, ego: EgoPose) -> EgoObjects:
    """The frame's objects in the body frame of a vehicle at ``ego``."""
    ego_origin = GeodeticOrigin(ego.latitude_deg, ego.longitude_deg, ego.altitude_m)
    # RSU ENU -> ego ENU is exact for positions; vectors only need the rotation.
    enu = geodesy.enu_to_enu(frame.positions, frame.origin, ego_origin)
    enu_rsu_to_ego = geodesy.enu_rotation(frame.origin, ego_origin)
    velocities = frame.velocities @ enu_rsu_to_ego.T
    c, s = math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)
    body = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # ENU -> body (rotate by -yaw)
    positions = enu @ body.T
    # Headings turn with the frames too: the RSU's east axis, seen from the ego's ENU frame.
    east = enu_rsu_to_ego[:, 0]
    frame_turn = math.atan2(east[1], east[0])
    headings = np.array([o.heading_rad for o in frame.objects], dtype=np.float64)
    headings = np.angle(np.exp(1j * (headings + frame_turn - ego.yaw_rad)))
    return EgoObjects(positions, velocities @ body.T, headings)
