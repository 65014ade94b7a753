"""Domain types of perception: what the stack passes around inside, free of protobuf.

Frames and units follow ARCHITECTURE.md: positions in metres in the local ENU frame (x east,
y north, z up) of a site's geodetic origin, velocities in m/s in that frame, angles in radians,
times in int64 nanoseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

NS_PER_S = 1_000_000_000


class ObjectClass(enum.IntEnum):
    """What kind of road user an object is (values as in ``vicoop.v1.ObjectClass``)."""

    UNSPECIFIED = 0
    UNKNOWN = 1
    PEDESTRIAN = 2
    BICYCLE = 3
    MOTORCYCLE = 4
    CAR = 5
    VAN = 6
    TRUCK = 7
    BUS = 8
    TRAM = 9
    ANIMAL = 10


class SensorKind(enum.IntEnum):
    """What kind of sensor a measurement came from (values as in ``vicoop.v1.SensorKind``)."""

    UNSPECIFIED = 0
    CAMERA = 1
    RADAR = 2
    LIDAR = 3
    VEHICLE_REPORT = 4
    SYNTHETIC = 5


class SensorHealth(enum.IntEnum):
    """How a sensor is doing (values as in ``vicoop.v1.SensorHealth``)."""

    UNSPECIFIED = 0
    OK = 1
    DEGRADED = 2
    SILENT = 3


class Vec3(NamedTuple):
    """A vector in a local ENU frame; the unit is named by the field that holds it."""

    x: float
    y: float
    z: float = 0.0


class Size3(NamedTuple):
    """A bounding box's length (along the heading), width and height, in metres."""

    length_m: float
    width_m: float
    height_m: float


@dataclass(frozen=True, slots=True)
class GeodeticOrigin:
    """The WGS84 origin of a site's local ENU frame."""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latitude_deg) and -90.0 <= self.latitude_deg <= 90.0):
            raise ValueError(f"latitude_deg must be in [-90, 90], got {self.latitude_deg}")
        if not (math.isfinite(self.longitude_deg) and -180.0 <= self.longitude_deg <= 180.0):
            raise ValueError(f"longitude_deg must be in [-180, 180], got {self.longitude_deg}")
        if not math.isfinite(self.altitude_m):
            raise ValueError(f"altitude_m must be finite, got {self.altitude_m}")


# Upper triangle (xx, xy, xz, yy, yz, zz) of a symmetric 3x3 covariance, unit squared.
Covariance3 = tuple[float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What an RSU is: its id, the origin of its ENU frame, and its publish rate in Hz."""

    rsu_id: str
    origin: GeodeticOrigin
    publish_rate_hz: float


@dataclass(frozen=True, slots=True)
class DetectedObject:
    """One tracked road user, estimated at ``valid_at_ns``.

    ``position`` is the centre of the bounding box (m, ENU), ``velocity`` is over ground (m/s,
    ENU), ``heading_rad`` is counter-clockwise from east, ``position_covariance`` is in m^2.
    """

    track_id: int
    object_class: ObjectClass
    class_confidence: float
    position: Vec3
    velocity: Vec3
    heading_rad: float
    size: Size3
    position_covariance: Covariance3
    existence_probability: float
    valid_at_ns: int
    sensor_ids: tuple[str, ...] = ()
    # The id a connected vehicle reported for itself, when its report matched this track.
    vehicle_id: str = ""

    @property
    def speed_mps(self) -> float:
        """Speed over ground in m/s."""
        return math.hypot(self.velocity.x, self.velocity.y, self.velocity.z)


@dataclass(frozen=True, slots=True)
class SensorStatus:
    """The state of one of an RSU's sensors; ``reason`` says why it is not OK (``"clock
    skew"``: its stamps fall outside the RSU's time window), empty when it is."""

    sensor_id: str
    kind: SensorKind
    health: SensorHealth
    last_measurement_ns: int = 0
    reason: str = ""


@dataclass(frozen=True)
class PerceptionFrame:
    """Everything an RSU publishes at one tick: objects predicted to ``valid_at_ns``.

    ``received_at_ns`` is set by a receiver (the vehicle client) to its clock when the frame
    arrived; ``latency_s`` is then the age of the data on arrival.
    """

    rsu_id: str
    sequence: int
    valid_at_ns: int
    published_at_ns: int
    origin: GeodeticOrigin
    objects: tuple[DetectedObject, ...] = ()
    sensors: tuple[SensorStatus, ...] = ()
    objects_before_filter: int = 0
    received_at_ns: int | None = None

    @property
    def latency_s(self) -> float | None:
        """Receive time minus ``valid_at_ns`` in seconds; None when not received over a link."""
        if self.received_at_ns is None:
            return None
        return (self.received_at_ns - self.valid_at_ns) / NS_PER_S

    @cached_property
    def positions(self) -> npt.NDArray[np.float64]:
        """Object positions as an (M, 3) array, metres in the frame's ENU frame."""
        return np.array([o.position for o in self.objects], dtype=np.float64).reshape(-1, 3)

    @cached_property
    def velocities(self) -> npt.NDArray[np.float64]:
        """Object velocities as an (M, 3) array, m/s in the frame's ENU frame."""
        return np.array([o.velocity for o in self.objects], dtype=np.float64).reshape(-1, 3)

    @cached_property
    def classes(self) -> npt.NDArray[np.int64]:
        """Object classes as an (M,) array of ``ObjectClass`` values."""
        return np.array([int(o.object_class) for o in self.objects], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Circle:
    """A circle in the ground plane of an RSU's ENU frame (metres)."""

    center_x_m: float
    center_y_m: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class Polygon:
    """A simple polygon in the ground plane of an RSU's ENU frame: vertices (x, y) in metres,
    in order, not closed."""

    vertices: tuple[tuple[float, float], ...]


RegionOfInterest = Circle | Polygon


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a vehicle asks of a perception stream; every part optional.

    ``region`` None means everywhere, empty ``classes`` means every class, ``max_rate_hz`` 0
    means the RSU's own rate.
    """

    region: RegionOfInterest | None = None
    classes: frozenset[ObjectClass] = field(default_factory=frozenset)
    max_rate_hz: float = 0.0
    client_id: str = ""
