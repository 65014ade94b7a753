"""The RSU outbox's cap: when an outage outlasts it, a new message displaces the least important
stored one (safety events and acknowledgements are kept over rejected-report notices, the oldest
goes among equals), every drop is counted by kind (link stats, the RSU's /metrics) and the twin
is told, when the link is back, how many of which kind were lost."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import generate_latest

from cloud.ingest import TwinIngest
from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from roadside.cloudlink.outbox import Outbox
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from tests.conftest import RSU_COMMAND_KEYS, KillableBroker, until
from tests.roadside.test_metrics import samples, value
from vicoop import codec_cloud
from vicoop.cloudmodel import AckStatus, CommandAck, Event, EventKind
from vicoop.model import NS_PER_S


def notice(n: int) -> Event:
    return Event(EventKind.VEHICLE_REPORT_REJECTED, n, vehicle_id=f"veh-{n}")


def speeding(n: int) -> Event:
    return Event(EventKind.ZONE_SPEEDING, n, zone_id="school", value=12.0, detail=f"s{n}")


def stored_bodies(outbox: Outbox) -> list[Event | CommandAck]:
    due = outbox.due(2**62, limit=10_000)
    return [codec_cloud.decode_outbox(payload).body for _, payload, _ in due]


def test_a_full_outbox_drops_notices_first_then_the_oldest_of_equals(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path, "rsu-cap", max_messages=10)
    for n in range(5):
        assert outbox.append(notice(n), n) is not None
    for n in range(5, 10):
        outbox.append(speeding(n), n)
    # Full: three speeding events displace the three oldest notices.
    for n in range(10, 13):
        assert outbox.append(speeding(n), n) is not None
    assert outbox.pending() == 10
    assert outbox.dropped == {"vehicle_report_rejected": 3}
    kept = stored_bodies(outbox)
    assert [b.vehicle_id for b in kept if isinstance(b, Event) and b.vehicle_id] == [
        "veh-3",
        "veh-4",
    ]
    # An acknowledgement displaces the last notices; then, full of equals, the oldest speeding.
    outbox.append(CommandAck("cmd-1", 1, AckStatus.APPLIED), 13)
    outbox.append(CommandAck("cmd-2", 1, AckStatus.APPLIED), 14)
    outbox.append(CommandAck("cmd-3", 1, AckStatus.APPLIED), 15)
    kept = stored_bodies(outbox)
    assert not any(
        isinstance(b, Event) and b.kind is EventKind.VEHICLE_REPORT_REJECTED for b in kept
    )
    assert "s5" not in {b.detail for b in kept if isinstance(b, Event)}
    assert outbox.dropped == {"vehicle_report_rejected": 5, "zone_speeding": 1}
    # A notice finds only messages that matter more: it is the one dropped.
    assert outbox.append(notice(99), 16) is None
    assert outbox.pending() == 10
    assert outbox.dropped["vehicle_report_rejected"] == 6
    outbox.close()

    # The counts not yet reported survive a restart, and become one event.
    reopened = Outbox(path, "rsu-cap", max_messages=10)
    report = reopened.report_drops(17)
    assert report is not None and isinstance(report.body, Event)
    assert report.body.kind is EventKind.OUTBOX_OVERFLOW
    # The report itself needed room: it displaced the oldest speeding event and counts it too.
    assert report.body.detail == "vehicle_report_rejected=6 zone_speeding=2"
    assert report.body.value == 8.0
    assert reopened.pending() == 10
    assert reopened.report_drops(18) is None  # reported once
    reopened.close()


async def test_the_twin_is_told_what_an_outage_cost(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'twin.sqlite3'}")
    store.migrate()
    broker = KillableBroker()  # not started yet: an outage from the start
    config = RsuConfig.model_validate(
        {
            "rsu_id": f"rsu-cap-{time.time_ns() % 10**9}",
            "server": {"port": 0, "grace_period_s": 0.5},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": broker.url,
                "outbox_path": str(tmp_path / "outbox.sqlite3"),
                "resend_after_s": 0.5,
                "status_interval_s": 0.3,
                "max_outbox_messages": 20,
            },
        }
    )
    try:
        async with RoadsideDaemon(config) as daemon:
            link = daemon.link
            assert link is not None
            now = time.time_ns()
            for n in range(15):
                link.emit(notice(now + n))
            for n in range(15):
                link.emit(speeding(now + 100 + n))
            assert link.outbox.pending() == 20
            assert link.stats.outbox_dropped == {"vehicle_report_rejected": 10}
            metrics = samples(generate_latest(daemon.metrics.registry).decode())
            assert (
                value(metrics, "vicoop_rsu_outbox_dropped_total", kind="vehicle_report_rejected")
                == 10
            )

            await broker.start()
            twin = Twin()
            ingest = TwinIngest(twin, ZoneManager(), store, broker.url, client_id="twin-cap")
            await ingest.start()
            try:
                await until(lambda: link.outbox.pending() == 0, "the outbox emptied by receipts")
                events = store.events(rsu_id=config.rsu_id, limit=1000)
                kinds = [e.kind for e in events]
                assert kinds.count("zone_speeding") == 15  # every safety event arrived
                assert kinds.count("vehicle_report_rejected") == 4
                overflow = [e for e in events if e.kind == "outbox_overflow"]
                assert len(overflow) == 1
                # Reported on a full outbox: its own room cost the oldest notice left.
                assert overflow[0].detail == "vehicle_report_rejected=11"
                assert overflow[0].value == 11.0
                assert overflow[0].occurred_at_ns >= now - NS_PER_S
            finally:
                await ingest.stop()
    finally:
        await broker.kill()
        store.close()
