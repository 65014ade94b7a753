"""Zone violations an RSU reports: each kind once when it starts, nothing for road users outside
a zone or within its rules, permits checked only for vehicles driving automated under one."""

from __future__ import annotations

import dataclasses

import pymap3d

from roadside.cloudlink.monitor import ZoneMonitor
from tests.conftest import make_object
from vicoop.cloudmodel import EventKind
from vicoop.model import DetectedObject, GeodeticOrigin, ObjectClass, PerceptionFrame
from vicoop.zones import TimeWindow, Zone, ZoneRules, ZoneSet

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
NOW = 1_800_000_000_000_000_000


def square(half_m: float) -> tuple[tuple[float, float], ...]:
    """A square of side 2 * half_m metres around the origin, as (lon, lat) degrees."""
    corners = [(-half_m, -half_m), (half_m, -half_m), (half_m, half_m), (-half_m, half_m)]
    out = []
    for e, n in corners:
        lat, lon, _ = pymap3d.enu2geodetic(
            e, n, 0.0, ORIGIN.latitude_deg, ORIGIN.longitude_deg, ORIGIN.altitude_m
        )
        out.append((float(lon), float(lat)))
    return tuple(out)


def zones(**rules: object) -> ZoneSet:
    zone = Zone("z", 1, "school street", square(50.0), ZoneRules(**rules))  # type: ignore[arg-type]
    return ZoneSet({"z": zone}, 1)


def frame(*objects: DetectedObject, t: int = NOW) -> PerceptionFrame:
    return PerceptionFrame("rsu-1", 1, t, t, ORIGIN, objects)


def kinds(events: list) -> list[EventKind]:  # type: ignore[type-arg]
    return [e.kind for e in events]


def test_speeding_is_reported_once_when_it_starts_and_again_after_it_stopped() -> None:
    monitor = ZoneMonitor()
    rules = zones(speed_limit_mps=8.0)
    fast = make_object(1, x=10.0, vx=12.0, valid_at_ns=NOW)
    first = monitor.check(frame(fast), rules, NOW)
    assert kinds(first) == [EventKind.ZONE_SPEEDING]
    assert first[0].value == 12.0 and first[0].track_id == 1 and first[0].zone_id == "z"
    assert monitor.check(frame(fast), rules, NOW) == []
    slow = make_object(1, x=10.0, vx=7.0, valid_at_ns=NOW)
    assert monitor.check(frame(slow), rules, NOW) == []
    assert kinds(monitor.check(frame(fast), rules, NOW)) == [EventKind.ZONE_SPEEDING]


def test_nothing_is_reported_outside_the_zone_or_within_its_rules() -> None:
    monitor = ZoneMonitor()
    rules = zones(speed_limit_mps=8.0, closed=False, allowed_classes=frozenset({ObjectClass.CAR}))
    outside = make_object(1, x=80.0, vx=20.0, object_class=ObjectClass.TRUCK, valid_at_ns=NOW)
    within = make_object(2, x=0.0, vx=8.2, valid_at_ns=NOW)  # inside the noise margin
    assert monitor.check(frame(outside, within), rules, NOW) == []


def test_closed_zone_and_class_not_allowed() -> None:
    monitor = ZoneMonitor()
    truck = make_object(3, object_class=ObjectClass.TRUCK, valid_at_ns=NOW)
    events = monitor.check(
        frame(truck), zones(closed=True, allowed_classes=frozenset({ObjectClass.CAR})), NOW
    )
    assert sorted(kinds(events)) == [
        EventKind.ZONE_CLOSED_ENTRY,
        EventKind.ZONE_CLASS_NOT_ALLOWED,
    ]
    assert "truck not allowed" in next(
        e.detail for e in events if e.kind is EventKind.ZONE_CLASS_NOT_ALLOWED
    )


def test_a_permit_the_zone_does_not_accept_is_reported_for_the_reporting_vehicle() -> None:
    monitor = ZoneMonitor()
    rules = zones(allowed_permit_ids=frozenset({"AV-17"}))
    accepted = dataclasses.replace(make_object(1, valid_at_ns=NOW), vehicle_id="veh-a")
    refused = dataclasses.replace(make_object(2, x=5.0, valid_at_ns=NOW), vehicle_id="veh-b")
    manual = dataclasses.replace(make_object(3, x=-5.0, valid_at_ns=NOW), vehicle_id="veh-c")
    unknown = make_object(4, x=-10.0, valid_at_ns=NOW)  # not reporting: its permit is unknown
    permits = {"veh-a": "AV-17", "veh-b": "AV-99", "veh-c": ""}
    events = monitor.check(frame(accepted, refused, manual, unknown), rules, NOW, permits)
    assert kinds(events) == [EventKind.ZONE_PERMIT_NOT_ACCEPTED]
    assert events[0].vehicle_id == "veh-b" and events[0].track_id == 2
    assert "'AV-99'" in events[0].detail
    assert monitor.check(frame(refused), rules, NOW, permits) == []  # once per violation


def test_rules_outside_their_time_window_are_not_enforced() -> None:
    at = NOW
    minute = (at // 60_000_000_000) % 1440
    closed_later = zones(
        closed=True, time_windows=(TimeWindow((minute + 60) % 1440, (minute + 120) % 1440),)
    )
    car = make_object(1, valid_at_ns=at)
    assert ZoneMonitor().check(frame(car, t=at), closed_later, at) == []
