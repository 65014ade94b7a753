"""Pilot zones as a vehicle sees them: which rules apply at a WGS84 position now.

::

    async for zones in rsu.zones():
        here = zones.rules_at(latitude_deg, longitude_deg)
        if here.closed or not here.allows(ObjectClass.CAR, permit_id="AV-17"):
            ...
        limit = here.speed_limit_mps  # None when no zone sets one

Pure: ``rules_at`` takes the time as ``now_ns`` (ns since the Unix epoch, UTC) and reads the
system clock only when it is not given.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from vicoop.model import ObjectClass
from vicoop.zones import TimeWindow, Zone, ZoneRules, ZoneSet


@dataclass(frozen=True, slots=True)
class RulesHere:
    """The rules of every zone that applies at one position and time, combined.

    ``speed_limit_mps`` is the lowest limit of those zones (None when none sets one),
    ``min_headway_s`` the largest gap asked for (0 when none), ``closed`` whether any of them is
    closed, ``closed_lanes`` the union of their closed lanes.
    """

    zones: tuple[Zone, ...]
    speed_limit_mps: float | None
    closed: bool
    closed_lanes: frozenset[str]
    min_headway_s: float

    @property
    def in_zone(self) -> bool:
        return bool(self.zones)

    def allows(self, vehicle_class: ObjectClass, permit_id: str = "") -> bool:
        """Whether a vehicle of ``vehicle_class`` may be here; with ``permit_id`` (driving
        automated under that permit) also whether every zone accepts the permit."""
        if self.closed:
            return False
        for zone in self.zones:
            rules = zone.rules
            if not rules.allows_class(vehicle_class):
                return False
            if permit_id and rules.allowed_permit_ids and permit_id not in rules.allowed_permit_ids:
                return False
        return True


class PilotZones:
    """The zones one RSU holds at one revision (the zones an RSU streams, as one snapshot)."""

    def __init__(self, zone_set: ZoneSet, rsu_target: str = "") -> None:
        self.zone_set = zone_set
        self.rsu_target = rsu_target

    @property
    def revision(self) -> int:
        return self.zone_set.revision

    @property
    def zones(self) -> Mapping[str, Zone]:
        return self.zone_set.zones

    def __len__(self) -> int:
        return len(self.zone_set.zones)

    def __repr__(self) -> str:
        return f"PilotZones(revision={self.revision}, zones={sorted(self.zones)})"

    def rules_at(
        self, latitude_deg: float, longitude_deg: float, now_ns: int | None = None
    ) -> RulesHere:
        """The rules that apply at a WGS84 position (degrees) at ``now_ns`` (now when None)."""
        when = time.time_ns() if now_ns is None else now_ns
        here = tuple(self.zone_set.rules_at(latitude_deg, longitude_deg, when))
        limits = [z.rules.speed_limit_mps for z in here if z.rules.speed_limit_mps > 0]
        return RulesHere(
            zones=here,
            speed_limit_mps=min(limits) if limits else None,
            closed=any(z.rules.closed for z in here),
            closed_lanes=frozenset(lane for z in here for lane in z.rules.closed_lanes),
            min_headway_s=max((z.rules.min_headway_s for z in here), default=0.0),
        )


__all__ = ["PilotZones", "RulesHere", "TimeWindow", "Zone", "ZoneRules", "ZoneSet"]
