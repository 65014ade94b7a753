"""The fusion stage's interface: measurement scans in, tracks out.

Frames and units: positions in metres in the site's local ENU frame (x east, y north), velocities
in m/s in that frame, angles in radians counter-clockwise from east, times in int64 ns since the
Unix epoch. A track's state vector is ``[x, y, vx, vy, omega]`` (m, m, m/s, m/s, rad/s).

Everything here is pure: nothing reads a clock, time is passed in.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vicoop.model import DetectedObject, ObjectClass, SensorKind, Size3, Vec3

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

STATE_DIM = 5
# Classes a track's class belief ranges over (UNSPECIFIED means "no class information").
CLASSES: tuple[ObjectClass, ...] = tuple(c for c in ObjectClass if c != ObjectClass.UNSPECIFIED)
N_CLASSES = len(CLASSES)
# Typical (length, width, height) in metres, the size prior of a class.
CLASS_SIZES: dict[ObjectClass, tuple[float, float, float]] = {
    ObjectClass.UNKNOWN: (4.0, 1.8, 1.5),
    ObjectClass.PEDESTRIAN: (0.5, 0.5, 1.75),
    ObjectClass.BICYCLE: (1.8, 0.6, 1.7),
    ObjectClass.MOTORCYCLE: (2.2, 0.8, 1.5),
    ObjectClass.CAR: (4.5, 1.8, 1.5),
    ObjectClass.VAN: (5.5, 2.0, 2.3),
    ObjectClass.TRUCK: (10.0, 2.5, 3.5),
    ObjectClass.BUS: (12.0, 2.55, 3.2),
    ObjectClass.TRAM: (30.0, 2.65, 3.4),
    ObjectClass.ANIMAL: (1.0, 0.5, 0.8),
}
CLASS_SIZE_TABLE: FloatArray = np.array([CLASS_SIZES[c] for c in CLASSES], dtype=np.float64)


def class_index(values: npt.ArrayLike) -> IntArray:
    """Index into ``CLASSES`` of ``ObjectClass`` values; -1 for UNSPECIFIED or unknown values."""
    v = np.asarray(values, dtype=np.int64)
    return np.where((v >= 1) & (v <= N_CLASSES), v - 1, -1)


@dataclass(frozen=True, slots=True)
class Coverage:
    """Where a sensor can see, in the ENU ground plane: a sector of a circle.

    ``position`` (x, y) m is the sensor's position, ``boresight_rad`` its viewing direction
    counter-clockwise from east, ``half_fov_rad`` half its opening angle, ``max_range_m`` its reach.
    Tracks outside a scan's coverage are neither hit nor missed by it.
    """

    position: tuple[float, float]
    boresight_rad: float
    half_fov_rad: float = math.pi
    max_range_m: float = math.inf
    min_range_m: float = 0.0

    def contains(self, xy: FloatArray) -> npt.NDArray[np.bool_]:
        """Whether each of the (N, 2) ENU points is inside the coverage."""
        d = xy - np.asarray(self.position)
        r = np.hypot(d[:, 0], d[:, 1])
        off = np.angle(np.exp(1j * (np.arctan2(d[:, 1], d[:, 0]) - self.boresight_rad)))
        inside: npt.NDArray[np.bool_] = (
            (r <= self.max_range_m) & (r >= self.min_range_m) & (np.abs(off) <= self.half_fov_rad)
        )
        return inside


@dataclass(frozen=True, eq=False)
class CentreOffsets:
    """How a sensor that sees an object's near side (a camera: the bottom edge of its box) placed
    the object's centre, so that a tracker that knows the object's heading and size can redo it.

    The sensor found each object's ground contact point: its footprint's nearest point along the
    horizontal viewing direction ``axis_rad`` (rad counter-clockwise from east; the image's rows
    are lines across it). ``offsets`` (K,) m is how far that point was moved away from the
    scan's ``sensor_position`` along the line of sight (the class's mean over headings), and
    ``variances`` (K,) m^2 the variance along the line of sight that this added to the scan's
    covariances.
    """

    axis_rad: float
    offsets: FloatArray
    variances: FloatArray


def near_side_offsets(
    lengths: FloatArray,
    widths: FloatArray,
    headings: FloatArray,
    axis_rad: float,
    lines_of_sight: FloatArray,
) -> FloatArray:
    """(K,) m from a footprint's nearest point along the viewing direction ``axis_rad`` to its
    centre, measured along the (K, 2) unit ``lines_of_sight``, for (K,) ``lengths`` and
    ``widths`` m of footprints heading (K,) ``headings`` rad (or any shapes that broadcast, with
    the lines of sight's last axis the two components).

    The nearest point is half the footprint's extent along the axis short of the centre,
    ``L/2 |cos(h - axis)| + W/2 |sin(h - axis)|``; along a line of sight at an angle to the axis
    that is ``1 / cos`` of that angle longer (at most twice).
    """
    rel = headings - axis_rad
    along_axis = 0.5 * lengths * np.abs(np.cos(rel)) + 0.5 * widths * np.abs(np.sin(rel))
    cos_los = lines_of_sight[..., 0] * math.cos(axis_rad) + lines_of_sight[..., 1] * math.sin(
        axis_rad
    )
    out: FloatArray = along_axis / np.maximum(cos_los, 0.5)
    return out


@dataclass(frozen=True, eq=False)
class Scan:
    """One sensor cycle's measurements, already calibrated into the ENU ground plane.

    ``positions`` (K, 2) m and ``covariances`` (K, 2, 2) m^2 are the objects' centres and their
    uncertainty. ``radial_speeds`` (K,) m/s (positive away from ``sensor_position``) with variance
    ``radial_speed_var`` (m/s)^2 is a radar's Doppler speed, None for sensors without one.
    ``classes`` (K,) holds ``ObjectClass`` values (0 when the sensor does not classify) and
    ``class_scores`` (K,) the sensor's confidence in them. ``sizes`` (K, 3) m is (length, width,
    height) with NaN where the sensor does not measure that extent.

    ``extent_fraction`` says that each position is a point somewhere on the object (a radar's
    reflection point) with a standard deviation of this fraction of the object's length along its
    heading and of its width across, about its centre; the tracker adds that spread, from each
    track's size and heading, to the covariances (which hold only the sensor's own noise and a
    class-independent spread). ``centre_offsets`` (see ``CentreOffsets``) says how a near-side
    sensor placed the centres, for the tracker to redo with each track's heading and size.
    ``whole_object_coverage`` says the sensor only reports objects entirely inside ``coverage``
    (a detector that drops boxes cut by the image's edge): a track counts as missed by the scan
    only when its whole footprint is inside.
    """

    sensor_id: str
    kind: SensorKind
    measured_at_ns: int
    positions: FloatArray
    covariances: FloatArray
    coverage: Coverage | None = None
    radial_speeds: FloatArray | None = None
    radial_speed_var: float = 0.25
    sensor_position: tuple[float, float] = (0.0, 0.0)
    classes: IntArray | None = None
    class_scores: FloatArray | None = None
    sizes: FloatArray | None = None
    extent_fraction: float = 0.0
    centre_offsets: CentreOffsets | None = None
    whole_object_coverage: bool = False

    def __post_init__(self) -> None:
        k = self.positions.shape[0]
        if self.positions.shape != (k, 2) or self.covariances.shape != (k, 2, 2):
            raise ValueError("positions must be (K, 2) and covariances (K, 2, 2)")
        for name in ("radial_speeds", "classes", "class_scores"):
            a = getattr(self, name)
            if a is not None and a.shape != (k,):
                raise ValueError(f"{name} must be ({k},), got {a.shape}")
        if self.sizes is not None and self.sizes.shape != (k, 3):
            raise ValueError(f"sizes must be ({k}, 3), got {self.sizes.shape}")
        if self.extent_fraction < 0:
            raise ValueError(f"extent_fraction must not be negative, got {self.extent_fraction}")
        o = self.centre_offsets
        if o is not None and (o.offsets.shape != (k,) or o.variances.shape != (k,)):
            raise ValueError(f"centre_offsets must hold ({k},) offsets and variances")

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @staticmethod
    def empty(
        sensor_id: str, kind: SensorKind, measured_at_ns: int, coverage: Coverage | None = None
    ) -> Scan:
        """A scan in which the sensor saw nothing (every covered track is missed)."""
        return Scan(
            sensor_id, kind, measured_at_ns, np.zeros((0, 2)), np.zeros((0, 2, 2)), coverage
        )


@dataclass(frozen=True, eq=False)
class TrackEstimates:
    """Confirmed tracks at ``valid_at_ns``, as arrays over N tracks.

    ``states`` (N, 5) is ``[x, y, vx, vy, omega]``, ``covariances`` (N, 5, 5) its covariance,
    ``classes`` (N,) ``ObjectClass`` values with ``class_confidences`` (N,), ``sizes`` (N, 3)
    (length, width, height) m, ``headings`` (N,) rad, ``existence`` (N,) in [0, 1] and
    ``sensor_ids`` the sensors that have updated each track.
    """

    valid_at_ns: int
    ids: IntArray
    states: FloatArray
    covariances: FloatArray
    classes: IntArray
    class_confidences: FloatArray
    sizes: FloatArray
    headings: FloatArray
    existence: FloatArray
    sensor_ids: tuple[tuple[str, ...], ...] = field(default=())

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def to_objects(self) -> tuple[DetectedObject, ...]:
        """The tracks as domain objects (z is half the height: the box centre above the ground)."""
        s = self.states.tolist()
        c = self.covariances
        cov = np.stack(
            [
                c[:, 0, 0],
                c[:, 0, 1],
                np.zeros(len(self)),
                c[:, 1, 1],
                np.zeros(len(self)),
                np.full(len(self), 0.25),
            ],
            axis=1,
        ).tolist()
        sizes = self.sizes.tolist()
        return tuple(
            DetectedObject(
                track_id=int(self.ids[i]),
                object_class=ObjectClass(int(self.classes[i])),
                class_confidence=float(self.class_confidences[i]),
                position=Vec3(s[i][0], s[i][1], sizes[i][2] / 2),
                velocity=Vec3(s[i][2], s[i][3], 0.0),
                heading_rad=float(self.headings[i]),
                size=Size3(*sizes[i]),
                position_covariance=tuple(cov[i]),  # type: ignore[arg-type]
                existence_probability=float(self.existence[i]),
                valid_at_ns=self.valid_at_ns,
                sensor_ids=self.sensor_ids[i] if self.sensor_ids else (),
            )
            for i in range(len(self))
        )


class Tracker(abc.ABC):
    """A multi-object tracker driven frame by frame: ``step(scans, now_ns) -> tracks``."""

    @abc.abstractmethod
    def step(self, scans: Sequence[Scan], now_ns: int) -> TrackEstimates:
        """Take in ``scans`` (each at its own measurement time, in any order) and return the
        confirmed tracks predicted to ``now_ns``."""

    @abc.abstractmethod
    def ingest(self, scan: Scan) -> None:
        """Take in one scan as it arrives (in or out of time order); the next ``step`` or
        ``predict`` includes it."""

    @abc.abstractmethod
    def predict(self, now_ns: int) -> TrackEstimates:
        """The confirmed tracks predicted to ``now_ns``, without changing the tracker."""
