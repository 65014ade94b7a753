"""The pieces that let several twin workers share zones: the pure ``ZoneManager`` never commands
a zone version it has not seen, the store's compare-and-set lets one of two writers win, and the
leader lock has one holder at a time, freed when its holder lets go."""

from __future__ import annotations

from cloud.store import AuditEntry, Store
from cloud.zones import ZoneManager
from vicoop.cloudmodel import DeleteZone, UpsertZone
from vicoop.model import GeodeticOrigin
from vicoop.zones import Zone, ZoneRules

AUDIT = AuditEntry(1, "test", "operator", "127.0.0.1", "zone.put", "z", {})

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
AREA = ((6.9598, 50.9370), (6.9608, 50.9370), (6.9608, 50.9380), (6.9598, 50.9380))


def zone(zone_id: str, version: int) -> Zone:
    return Zone(zone_id, version, zone_id, AREA, ZoneRules(closed=True), 1)


def test_a_zone_the_rsu_holds_and_this_copy_has_not_seen_is_not_deleted_until_checked() -> None:
    zones = ZoneManager()
    zones.reconcile("rsu-a", ORIGIN, 150.0, {"closure": 1}, 1)
    assert zones.pending() == []  # created through another worker: no delete
    assert zones.unseen == {"closure": 1}
    # The database has it: the copy learns it, and nothing needs sending.
    assert zones.merge([zone("closure", 1)], {}, asked=dict(zones.unseen)) == ["closure"]
    zones.reconcile("rsu-a", ORIGIN, 150.0, {"closure": 1}, 2)
    assert zones.pending() == [] and zones.unseen == {}


def test_a_zone_the_database_does_not_have_either_is_deleted_after_the_re_read() -> None:
    zones = ZoneManager()
    zones.reconcile("rsu-a", ORIGIN, 150.0, {"stray": 4}, 1)
    assert zones.pending() == []
    assert zones.merge([], {}, asked=dict(zones.unseen)) == []
    zones.reconcile("rsu-a", ORIGIN, 150.0, {"stray": 4}, 2)
    (command,) = zones.pending()
    assert command.body == DeleteZone("stray", 5)


def test_a_newer_version_on_the_rsu_waits_for_the_database_not_a_downgrade() -> None:
    zones = ZoneManager()
    zones.put(zone("closure", 1))
    zones.reconcile("rsu-a", ORIGIN, 150.0, {}, 1)
    assert [c.version for c in zones.pending()] == [1]
    zones.reconcile("rsu-b", ORIGIN, 150.0, {"closure": 2}, 1)  # changed elsewhere
    assert zones.unseen == {"closure": 2}
    zones.merge([zone("closure", 2)], {}, asked=dict(zones.unseen))
    zones.reconcile("rsu-a", ORIGIN, 150.0, {}, 2)
    (command,) = zones.pending("rsu-a")
    assert isinstance(command.body, UpsertZone) and command.version == 2
    # An older read never takes a copy back.
    assert zones.merge([zone("closure", 1)], {}) == []
    assert zones.zones["closure"].version == 2


def test_of_two_writers_based_on_one_version_only_one_wins(store: Store) -> None:
    assert store.save_zone(zone("z", 1), deleted=False, by="a", based_on=0, audit=AUDIT)
    assert not store.save_zone(zone("z", 1), deleted=False, by="b", based_on=0, audit=AUDIT)
    before = store.zones_revision()
    assert store.save_zone(zone("z", 2), deleted=False, by="a", based_on=1, audit=AUDIT)
    assert not store.save_zone(zone("z", 2), deleted=True, by="b", based_on=1, audit=AUDIT)
    assert store.zones_revision() > before
    loaded, deleted = store.load_zones()
    assert [(z.zone_id, z.version) for z in loaded] == [("z", 2)] and deleted == {}
    # The audit log holds the two changes made, not the two refused: one transaction each.
    assert len(store.audit_log()) == 2


def test_the_leader_lock_has_one_holder_and_passes_on_when_released(store: Store) -> None:
    first, second = store.leader_lock(), store.leader_lock()
    try:
        assert first.hold() and first.hold()  # taken, then still held
        assert not second.hold()
        first.release()
        assert second.hold()
        assert not first.hold()  # released for good
    finally:
        first.release()
        second.release()
