"""The twin's store on the database it is given (PostgreSQL when ``DATABASE_URL`` is set, as in
CI; else SQLite): several workers starting at once on a fresh schema, and 64-bit counters."""

from __future__ import annotations

import threading
import time

from cloud.store import AuditEntry, Store
from vicoop.cloudmodel import AckStatus, CommandAck, Event, EventKind, OutboxMessage
from vicoop.zones import Zone

AUDIT = AuditEntry(1, "test", "operator", "127.0.0.1", "zone.put", "z", {})


def test_seven_workers_starting_at_once_all_migrate(db_url: tuple[str, str | None]) -> None:
    url, schema = db_url
    errors: list[BaseException] = []
    start = threading.Barrier(7)

    def worker() -> None:
        store = Store(url, schema=schema)
        try:
            start.wait()
            store.migrate()
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=worker) for _ in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    store = Store(url, schema=schema)
    try:
        assert store.revision() == "0004"
    finally:
        store.close()


def test_versions_and_ids_beyond_32_bits_are_stored(store: Store) -> None:
    big = 2**40
    square = ((6.95, 50.93), (6.951, 50.93), (6.951, 50.931), (6.95, 50.931))
    assert store.save_zone(
        Zone("z-big", big, "big", square), deleted=False, by="test", based_on=0, audit=AUDIT
    )
    zones, _ = store.load_zones()
    assert [(z.zone_id, z.version) for z in zones] == [("z-big", big)]
    if store.dialect != "postgresql":
        return  # SQLite's row ids are 64-bit by nature
    store.set_next_event_id(2**33)
    now = time.time_ns()
    event = Event(EventKind.ZONE_CLOSED_ENTRY, now, zone_id="z-big")
    store.add_outbox([(OutboxMessage("rsu-big", 1, now, event), now)])
    (stored,) = store.events(rsu_id="rsu-big")
    assert stored.id >= 2**33


def test_an_event_or_ack_stored_twice_is_stored_once_and_says_so(store: Store) -> None:
    now = time.time_ns()
    event = Event(EventKind.ZONE_CLOSED_ENTRY, now, zone_id="z-1")
    assert store.add_event("rsu-twice", 7, event, now) is True
    assert store.add_event("rsu-twice", 7, event, now) is False  # the same outbox sequence
    ack = CommandAck("cmd-1", 3, AckStatus.APPLIED, "", now)
    assert store.add_ack("rsu-twice", 8, ack) is True
    assert store.add_ack("rsu-twice", 8, ack) is False
    assert len(store.events(rsu_id="rsu-twice")) == 1
    assert [a[1] for a in store.acks("rsu-twice")] == [8]


def test_forgotten_rsus_rows_are_deleted(store: Store) -> None:
    store.save_rsu("rsu-old", False, "offline", 50.9, 6.9, 1_000)
    store.save_rsu("rsu-new", True, "ok", 50.9, 6.9, 5_000)
    assert store.forget_rsus(2_000) == 1
    assert store.rsu_rows() == ["rsu-new"]
