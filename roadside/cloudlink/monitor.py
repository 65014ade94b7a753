"""Zone violations seen by an RSU: speeding in a zone, a road user inside a closed zone or of a
class the zone does not allow, and a connected vehicle driving automated under a permit the zone
does not accept. Pure: time is an argument.

Permits are known only for vehicles that report their own state (``ReportVehicleState``): a
track carries the reporting vehicle's id, and ``permits`` maps that id to the permit it reported.
A vehicle reporting no permit drives manually, and a zone's permit list does not apply to it
(the same reading as ``vehicle.zones.ZoneRules.allows``).

Each violation is reported once when it starts (per track, zone and kind), not at every frame;
it may be reported again after the track has left the violation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vicoop.cloudmodel import Event, EventKind
from vicoop.geodesy import enu_to_geodetic
from vicoop.model import ObjectClass, PerceptionFrame
from vicoop.zones import ZoneSet

# Speeding is reported above the limit plus this margin (m/s): measurement noise is not speeding.
SPEED_MARGIN_MPS = 0.5
ROAD_USERS = frozenset(ObjectClass) - {ObjectClass.UNSPECIFIED, ObjectClass.UNKNOWN}


class ZoneMonitor:
    """Turns frames into violation events against the zones the RSU holds."""

    def __init__(self, speed_margin_mps: float = SPEED_MARGIN_MPS) -> None:
        self.speed_margin_mps = speed_margin_mps
        self._active: set[tuple[int, str, EventKind]] = set()

    def check(
        self,
        frame: PerceptionFrame,
        zones: ZoneSet,
        now_ns: int,
        permits: Mapping[str, str] | None = None,
    ) -> list[Event]:
        """The violations that start in ``frame``; ``permits`` maps the ids of reporting vehicles
        to the automated-driving permit each reported ("" when driving manually)."""
        permits = permits or {}
        active_zones = [z for z in zones.zones.values() if z.rules.active(now_ns)]
        if not frame.objects or not active_zones:
            self._active.clear()
            return []
        wgs84 = enu_to_geodetic(frame.positions, frame.origin)
        lat, lon = wgs84[:, 0], wgs84[:, 1]
        now_active: set[tuple[int, str, EventKind]] = set()
        events: list[Event] = []
        for zone in active_zones:
            inside = np.flatnonzero(zone.contains_many(lat, lon))
            rules = zone.rules
            for i in inside.tolist():
                obj = frame.objects[i]
                found: list[tuple[EventKind, float, str]] = []
                if rules.closed and obj.object_class in ROAD_USERS:
                    found.append(
                        (EventKind.ZONE_CLOSED_ENTRY, 0.0, f"inside closed zone {zone.name!r}")
                    )
                if not rules.allows_class(obj.object_class) and obj.object_class in ROAD_USERS:
                    found.append(
                        (
                            EventKind.ZONE_CLASS_NOT_ALLOWED,
                            0.0,
                            f"{obj.object_class.name.lower()} not allowed in zone {zone.name!r}",
                        )
                    )
                permit = permits.get(obj.vehicle_id, "") if obj.vehicle_id else ""
                if permit and rules.allowed_permit_ids and permit not in rules.allowed_permit_ids:
                    found.append(
                        (
                            EventKind.ZONE_PERMIT_NOT_ACCEPTED,
                            0.0,
                            f"vehicle {obj.vehicle_id!r} drives automated under permit "
                            f"{permit!r}, which zone {zone.name!r} does not accept",
                        )
                    )
                limit = rules.speed_limit_mps
                if limit > 0 and obj.speed_mps > limit + self.speed_margin_mps:
                    found.append(
                        (
                            EventKind.ZONE_SPEEDING,
                            obj.speed_mps,
                            f"{obj.speed_mps:.1f} m/s in zone {zone.name!r} (limit {limit:.1f})",
                        )
                    )
                for kind, value, detail in found:
                    key = (obj.track_id, zone.zone_id, kind)
                    now_active.add(key)
                    if key not in self._active:
                        events.append(
                            Event(
                                kind=kind,
                                occurred_at_ns=frame.valid_at_ns,
                                zone_id=zone.zone_id,
                                vehicle_id=obj.vehicle_id,
                                track_id=obj.track_id,
                                x_m=obj.position.x,
                                y_m=obj.position.y,
                                value=value,
                                detail=detail,
                            )
                        )
        self._active = now_active
        return events
