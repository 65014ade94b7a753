"""Defect 6 at the twin: ids a client chooses (RSUs, intersections, approaches, vehicles, outbox
sequences) never grow the twin's state past its caps; what went stale ages out, and a refusal is
counted under the cap's name."""

from __future__ import annotations

from cloud.config import CloudConfig
from cloud.store import Store
from cloud.twin import Twin, TwinLimits
from tests.conftest import TWIN_KEY
from vicoop.cloudmodel import (
    ApproachMeasure,
    Event,
    EventKind,
    PerceptionSummary,
    RsuHealth,
    RsuStatus,
    SignalState,
    VehicleReport,
)
from vicoop.model import NS_PER_S, DetectedObject, GeodeticOrigin, ObjectClass, Size3, Vec3

NOW = 1_700_000_000 * NS_PER_S
ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
LIMITS = TwinLimits(
    max_rsus=10,
    max_objects_per_rsu=20,
    max_signals=15,
    max_measures=25,
    max_vehicle_reports=30,
    seen_window=64,
    forget_offline_after_s=60.0,
)


def car(track_id: int) -> DetectedObject:
    return DetectedObject(
        track_id,
        ObjectClass.CAR,
        0.9,
        Vec3(float(track_id % 50), float(track_id // 50), 0.0),
        Vec3(5.0, 0.0),
        0.0,
        Size3(4.5, 1.8, 1.5),
        (0.2, 0, 0, 0.2, 0, 0.01),
        0.99,
        NOW,
    )


def status(rsu_id: str, health: RsuHealth = RsuHealth.OK) -> RsuStatus:
    return RsuStatus(rsu_id, health, ORIGIN, sent_at_ns=NOW)


def test_the_config_carries_the_caps_with_defaults() -> None:
    limits = CloudConfig(
        command_signing_key_file=TWIN_KEY,
    ).twin_limits()
    assert limits.max_rsus >= 100 and limits.seen_window >= 1000


def test_a_flood_of_rsu_ids_stops_at_the_cap_and_is_counted() -> None:
    twin = Twin(limits=LIMITS)
    for n in range(1000):
        twin.apply_status(status(f"rsu-{n}"), NOW)
        twin.apply_summary(PerceptionSummary(f"rsu-{n}", 1, NOW, NOW, ORIGIN, (car(1),)), NOW)
    assert len(twin.rsus) == 10
    assert twin.object_sources() <= 10
    assert twin.counters.refused["max_rsus"] == 990 * 2
    # The first ten keep working.
    assert twin.apply_status(status("rsu-3", RsuHealth.DEGRADED), NOW) is True


def test_rsus_offline_longer_than_the_limit_are_forgotten_and_make_room() -> None:
    twin = Twin(limits=LIMITS)
    for n in range(10):
        twin.apply_status(status(f"old-{n}", RsuHealth.OFFLINE), NOW)
    later = NOW + 61 * NS_PER_S
    twin.expire(later)
    assert twin.rsus == {}
    twin.apply_status(status("new"), later)
    assert list(twin.rsus) == ["new"]
    assert twin.counters.forgotten == 10


def test_one_summary_with_many_objects_is_cut_to_the_cap() -> None:
    twin = Twin(limits=LIMITS)
    twin.apply_status(status("rsu-a"), NOW)
    objects = tuple(car(k) for k in range(5000))
    measures = tuple(ApproachMeasure(f"x-{k}", f"a-{k}", 1, 0.0, 1.0) for k in range(5000))
    twin.apply_summary(PerceptionSummary("rsu-a", 1, NOW, NOW, ORIGIN, objects, measures), NOW)
    assert len(twin.objects(NOW)) == 20
    assert len(twin.measures) == 25
    assert twin.counters.refused["max_objects_per_rsu"] == 4980
    assert twin.counters.refused["max_measures"] == 4975


def test_signals_reports_and_their_ages() -> None:
    twin = Twin(limits=LIMITS)
    twin.apply_status(status("rsu-a"), NOW)
    for k in range(500):
        twin.apply_signal(SignalState("rsu-a", f"x-{k}", NOW), NOW)
    assert len(twin.signals) == 15
    assert twin.counters.refused["max_signals"] == 485
    reports = [
        VehicleReport(f"veh-{k}", ObjectClass.CAR, 50.9, 6.9, 1.0, 0.0, Size3(4, 2, 1), NOW)
        for k in range(500)
    ]
    twin.apply_reports("rsu-a", reports, NOW)
    assert len(twin.vehicle_reports) == 30
    assert "veh-499" in twin.vehicle_reports  # the newest stay
    # The RSU goes offline and is forgotten: its signals and measures go with it.
    twin.apply_status(status("rsu-a", RsuHealth.OFFLINE), NOW)
    twin.expire(NOW + 61 * NS_PER_S)
    assert twin.signals == {} and twin.measures == {} and twin.rsus == {}
    assert twin.vehicle_reports == {}


def test_an_rsu_cannot_overwrite_another_online_rsus_intersection() -> None:
    # The attack: signal states were keyed by intersection, so any RSU (or anyone publishing
    # as one) could overwrite any intersection's lights in the twin.
    twin = Twin(limits=LIMITS)
    twin.apply_status(status("rsu-a"), NOW)
    twin.apply_status(status("rsu-b"), NOW)
    twin.apply_signal(SignalState("rsu-a", "junction-a", NOW), NOW)
    twin.apply_signal(SignalState("rsu-b", "junction-a", NOW + 1), NOW + 1)
    assert twin.signals["junction-a"].rsu_id == "rsu-a"
    assert twin.counters.refused["signal_owner"] == 1
    # Once its holder is offline, the intersection may change hands (an RSU replaced).
    twin.apply_status(status("rsu-a", RsuHealth.OFFLINE), NOW + 2)
    twin.apply_signal(SignalState("rsu-b", "junction-a", NOW + 3), NOW + 3)
    assert twin.signals["junction-a"].rsu_id == "rsu-b"


def test_a_vehicle_that_stops_reporting_leaves_after_the_report_ttl() -> None:
    twin = Twin(limits=LIMITS)
    twin.apply_status(status("rsu-a"), NOW)
    reports = [
        VehicleReport(f"veh-{k}", ObjectClass.CAR, 50.9, 6.9, 1.0, 0.0, Size3(4, 2, 1), NOW)
        for k in range(3)
    ]
    twin.apply_reports("rsu-a", reports, NOW)
    later = NOW + int(LIMITS.vehicle_report_ttl_s * NS_PER_S) - 1
    twin.apply_reports("rsu-a", reports[1:2], later)  # veh-1 still reports
    twin.expire(later + 2)
    assert list(twin.vehicle_reports) == ["veh-1"]


def test_the_dedup_memory_is_a_bounded_window_per_rsu() -> None:
    twin = Twin(limits=LIMITS)
    twin.apply_status(status("rsu-a"), NOW)
    ev = Event(EventKind.OTHER, NOW, detail="x")
    for seq in range(1, 10_001):
        assert twin.apply_event("rsu-a", seq, ev, NOW)
    assert twin.seen_size() <= 64
    # Old sequences are still known as applied (below the high-water window), new ones are new.
    assert not twin.is_new("rsu-a", 5)
    assert not twin.is_new("rsu-a", 10_000)
    assert twin.is_new("rsu-a", 10_001)
    # Loaded at start from the store: bounded too.
    fresh = Twin(limits=LIMITS)
    fresh.remember([("rsu-a", s) for s in range(1, 10_001)])
    assert fresh.seen_size() <= 64
    assert not fresh.is_new("rsu-a", 3) and fresh.is_new("rsu-a", 10_002)


def test_the_store_loads_a_bounded_window_per_rsu_and_the_twin_still_discards_old_ones(
    store: Store,
) -> None:
    ev = Event(EventKind.OTHER, NOW, detail="x")
    for seq in range(1, 301):
        store.add_event("rsu-win-a", seq, ev, NOW)
    for seq in range(1, 6):
        store.add_event("rsu-win-b", seq, ev, NOW)
    keys = store.outbox_keys(64)
    assert sorted(s for r, s in keys if r == "rsu-win-a") == list(range(237, 301))
    assert sorted(s for r, s in keys if r == "rsu-win-b") == [1, 2, 3, 4, 5]
    twin = Twin(limits=LIMITS)
    twin.remember(keys)
    assert twin.seen_size() <= 64 + 5
    assert not twin.is_new("rsu-win-a", 1) and twin.is_new("rsu-win-a", 301)
    assert twin.is_new("rsu-win-b", 6)


def test_spat_and_maps_stop_at_the_rsu_cap_and_go_with_a_forgotten_rsu() -> None:
    from vehicle.testing import crossroads_map
    from vicoop.spat import ControlMode, Spat

    twin = Twin(limits=LIMITS)
    for n in range(30):
        twin.apply_spat(f"rsu-{n}", [Spat("j1", NOW, 1, ControlMode.UNKNOWN, ())], NOW)
        twin.apply_map(f"rsu-{n}", [crossroads_map("j1")], NOW)
    assert len(twin.spat) == len(twin.maps) == 10
    assert twin.counters.refused["max_rsus"] == 20 * 2
    twin.apply_status(status("rsu-0"), NOW)
    twin.apply_status(status("rsu-0", RsuHealth.OFFLINE), NOW)
    twin.expire(NOW + 61 * NS_PER_S)  # offline past forget_offline_after_s
    assert "rsu-0" not in twin.spat and "rsu-0" not in twin.maps
