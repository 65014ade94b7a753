"""Pilot zones: WGS84 polygons with rules, and the pure question "which rules apply here now".

Shared by the cloud (which manages zones), RSUs (which watch for violations) and the vehicle
library (which answers for its own position). Polygons are (longitude, latitude) pairs in degrees,
as in GeoJSON; times are ns since the Unix epoch (UTC). Nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import shapely

from vicoop.model import NS_PER_S, ObjectClass

MINUTES_PER_DAY = 1440
MAX_ZONE_VERTICES = 1000


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A daily window in UTC, minutes of the day; wraps past midnight when ``end < start``.

    ``weekdays`` are ISO weekdays (1 Monday .. 7 Sunday) the window opens on; every day when empty.
    """

    start_minute: int
    end_minute: int
    weekdays: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not 0 <= self.start_minute < MINUTES_PER_DAY:
            raise ValueError(f"start_minute must be in [0, 1440), got {self.start_minute}")
        if not 0 < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError(f"end_minute must be in (0, 1440], got {self.end_minute}")
        if self.start_minute == self.end_minute:
            raise ValueError("start_minute and end_minute must differ")
        bad = [d for d in self.weekdays if not 1 <= d <= 7]
        if bad:
            raise ValueError(f"weekdays must be in 1..7, got {bad[0]}")

    def contains(self, now_ns: int) -> bool:
        """Whether the window is open at ``now_ns``."""
        when = dt.datetime.fromtimestamp(now_ns / NS_PER_S, tz=dt.UTC)
        minute = when.hour * 60 + when.minute
        weekday = when.isoweekday()
        if self.start_minute < self.end_minute:
            inside = self.start_minute <= minute < self.end_minute
            opened_on = weekday
        else:  # wraps past midnight: after midnight it belongs to the day before
            inside = minute >= self.start_minute or minute < self.end_minute
            opened_on = weekday if minute >= self.start_minute else (weekday - 2) % 7 + 1
        return inside and (not self.weekdays or opened_on in self.weekdays)


@dataclass(frozen=True, slots=True)
class ZoneRules:
    """What a zone asks of the vehicles inside it; every rule optional (0 / empty = none)."""

    speed_limit_mps: float = 0.0
    allowed_classes: frozenset[ObjectClass] = frozenset()
    allowed_permit_ids: frozenset[str] = frozenset()
    closed: bool = False
    closed_lanes: tuple[str, ...] = ()
    time_windows: tuple[TimeWindow, ...] = ()
    min_headway_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.speed_limit_mps >= 0.0:
            raise ValueError(f"speed_limit_mps must be >= 0, got {self.speed_limit_mps}")
        if not self.min_headway_s >= 0.0:
            raise ValueError(f"min_headway_s must be >= 0, got {self.min_headway_s}")

    def active(self, now_ns: int) -> bool:
        """Whether the rules apply at ``now_ns`` (always when there are no time windows)."""
        return not self.time_windows or any(w.contains(now_ns) for w in self.time_windows)

    def allows_class(self, object_class: ObjectClass) -> bool:
        return not self.allowed_classes or object_class in self.allowed_classes


def polygon_problem(vertices: Iterable[tuple[float, float]]) -> str | None:
    """Why ``vertices`` ((lon, lat) degrees, not closed) is not a usable zone ring; None if it is."""
    points = list(vertices)
    if points and points[0] == points[-1] and len(points) > 3:
        points = points[:-1]
    if not 3 <= len(points) <= MAX_ZONE_VERTICES:
        return f"needs 3 to {MAX_ZONE_VERTICES} distinct vertices, got {len(points)}"
    for lon, lat in points:
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            return f"vertex ({lon}, {lat}) is outside longitude [-180, 180] / latitude [-90, 90]"
    geometry = shapely.Polygon(points)
    if not geometry.is_valid:
        return f"is not a simple polygon: {shapely.is_valid_reason(geometry)}"
    if geometry.area <= 0.0:
        return "has no area"
    return None


@dataclass(frozen=True)
class Zone:
    """A pilot zone at one version: a simple polygon of (lon, lat) degrees and its rules."""

    zone_id: str
    version: int
    name: str
    polygon: tuple[tuple[float, float], ...]
    rules: ZoneRules = field(default_factory=ZoneRules)
    updated_at_ns: int = 0

    def __post_init__(self) -> None:
        if not self.zone_id:
            raise ValueError("zone_id must not be empty")
        if self.version < 1:
            raise ValueError(f"version must be >= 1, got {self.version}")
        problem = polygon_problem(self.polygon)
        if problem:
            raise ValueError(f"polygon {problem}")

    @cached_property
    def geometry(self) -> shapely.Polygon:
        """The polygon in the (lon, lat) plane, prepared for fast point tests."""
        polygon = shapely.Polygon(self.polygon)
        shapely.prepare(polygon)
        return polygon

    def contains(self, latitude_deg: float, longitude_deg: float) -> bool:
        """Whether a point is inside the zone or on its boundary."""
        return bool(shapely.intersects_xy(self.geometry, longitude_deg, latitude_deg))

    def contains_many(
        self, latitude_deg: npt.NDArray[np.float64], longitude_deg: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """``contains`` for arrays of points (degrees), vectorised."""
        return np.asarray(shapely.intersects_xy(self.geometry, longitude_deg, latitude_deg))

    def to_geojson(self) -> dict[str, object]:
        ring = [[lon, lat] for lon, lat in self.polygon]
        return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@dataclass(frozen=True)
class ZoneSet:
    """Every zone one party holds, by id, with a revision that rises at every change."""

    zones: Mapping[str, Zone] = field(default_factory=dict)
    revision: int = 0

    def rules_at(self, latitude_deg: float, longitude_deg: float, now_ns: int) -> list[Zone]:
        """The zones whose rules apply at this position at ``now_ns``, by zone id."""
        return [
            zone
            for _, zone in sorted(self.zones.items())
            if zone.rules.active(now_ns) and zone.contains(latitude_deg, longitude_deg)
        ]

    def speed_limit_at(
        self, latitude_deg: float, longitude_deg: float, now_ns: int
    ) -> float | None:
        """The lowest speed limit (m/s) that applies here now; None when no zone sets one."""
        limits = [
            z.rules.speed_limit_mps
            for z in self.rules_at(latitude_deg, longitude_deg, now_ns)
            if z.rules.speed_limit_mps > 0
        ]
        return min(limits) if limits else None
