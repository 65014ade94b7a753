"""A full disk at the RSU, for real: its outbox on a 1 MiB tmpfs that a filler file fills. New
events are refused (a vehicle's report stream gets UNAVAILABLE, saying why), none it had accepted
is lost, and once the twin's receipts arrive the outbox still shrinks.

Needs root (to mount the tmpfs); skipped with the reason otherwise.
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from cloud.config import CloudConfig
from cloud.service import CloudService
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, KillableBroker, until
from vehicle import RoadsideClient, VehicleReport
from vicoop.cloudmodel import Event, EventKind
from vicoop.model import ObjectClass, Size3


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted in ``tmp_path``."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; returns the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def implausible(vehicle_id: str, config: RsuConfig) -> VehicleReport:
    return VehicleReport(
        vehicle_id,
        ObjectClass.CAR,
        config.origin.latitude_deg,
        config.origin.longitude_deg,
        200.0,  # m/s: rejected, and worth an event for the operators
        0.0,
        Size3(4.5, 1.8, 1.5),
        time.time_ns(),
    )


async def test_a_full_disk_refuses_new_events_and_loses_none(
    small_disk: Path, tmp_path: Path
) -> None:
    broker = KillableBroker()  # not started: the events wait in the outbox
    config = RsuConfig.model_validate(
        {
            "rsu_id": "rsu-full-disk",
            "server": {"port": 0, "grace_period_s": 0.5},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": broker.url,
                "outbox_path": str(small_disk / "outbox.sqlite3"),
                "resend_after_s": 0.5,
            },
        }
    )
    try:
        async with RoadsideDaemon(config) as daemon, RoadsideClient(daemon.target) as rsu:
            link = daemon.link
            assert link is not None
            for i in range(20):
                link.emit(Event(EventKind.ZONE_CLOSED_ENTRY, time.time_ns(), vehicle_id=f"v{i}"))
            assert link.outbox.pending() == 20

            filler = fill(small_disk)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                # One report: a stream still sending when the RSU answers would see its own
                # failed send (INTERNAL) rather than the RSU's answer.
                await rsu.report_state([implausible("veh-0", config)])
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
            assert "storage is full" in (refused.value.details() or "")
            assert link.outbox.pending() == 20  # nothing it had accepted is gone

            # The twin comes, stores the 20 and sends receipts: the outbox shrinks though the
            # disk is still full.
            await broker.start()
            twin_config = CloudConfig(
                dev=True,
                command_signing_key_file=TWIN_KEY,
                mqtt_url=broker.url,
                db_url=f"sqlite:///{tmp_path / 'twin.sqlite3'}",
                http_port=0,
            )
            async with CloudService(twin_config) as twin:
                await until(
                    lambda: twin.store.event_count() == 20, "the 20 events stored by the twin"
                )
                await until(lambda: link.outbox.pending() == 0, "the outbox emptied by receipts")

                # Space again: new events are taken again.
                filler.unlink()
                summary = await rsu.report_state([implausible("veh-later", config)])
                assert summary.rejected == 1
                await until(lambda: twin.store.event_count() == 21, "the later event stored")
    finally:
        await broker.kill()


def test_a_zone_command_on_a_full_disk_is_refused_as_storage_full_and_applied_later(
    small_disk: Path,
) -> None:
    """The soak saw the RSU's command handler fail with sqlite's own 'database or disk is full'
    (counted as a handler error); a zone that cannot be stored is StorageFull, the RSU's zones
    unchanged, and the same command applies once there is room."""
    from roadside.cloudlink.outbox import Outbox
    from roadside.cloudlink.zonebook import ZoneBook
    from roadside.errors import StorageFull
    from vicoop.cloudmodel import AckStatus, Command, UpsertZone
    from vicoop.zones import Zone, ZoneRules

    outbox = Outbox(str(small_disk / "outbox.sqlite3"), "rsu-full")
    zones = ZoneBook(outbox)
    area = ((6.9598, 50.9370), (6.9608, 50.9370), (6.9608, 50.9380), (6.9598, 50.9380))
    # A zone large enough to need new pages in the write-ahead log.
    big = tuple(
        (
            6.9603 + 4e-4 * math.cos(2 * math.pi * i / 900),
            50.9375 + 3e-4 * math.sin(2 * math.pi * i / 900),
        )
        for i in range(900)
    )
    try:
        zones.apply(Command("c1", 1, 1, UpsertZone(Zone("small", 1, "s", area, ZoneRules()))), 1)
        filler = fill(small_disk)
        command = Command("c2", 1, 2, UpsertZone(Zone("big", 1, "b", big, ZoneRules(closed=True))))
        with pytest.raises(StorageFull, match="zone 'big' version 1 is not stored"):
            zones.apply(command, 2)
        assert set(zones.zone_set.zones) == {"small"}
        filler.unlink()
        assert zones.apply(command, 3).status is AckStatus.APPLIED
    finally:
        outbox.close()
