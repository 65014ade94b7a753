"""Alarms an operator can read: a supervised task that fails, the twin's own or an RSU's, is
stored and listed by ``GET /api/v1/alarms`` (with its source, task, error and time) and counted
in the twin's metrics; an RSU's reaches the twin as a TASK_FAILED event through its outbox."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prometheus_client import generate_latest
from sqlalchemy import text

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.cloudlink import CloudLink, CloudLinkConfig
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, until
from tests.roadside.test_metrics import samples, value
from vicoop.cloudmodel import Event, EventKind
from vicoop.model import GeodeticOrigin

from .test_api import VIEWER, call


class _PublishLoopClockFailingOnce:
    """The system clock, but its third reading from the publish loop raises (a stand-in bug
    that ends the loop; the cloud link reads the same clock and is left alone)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        task = asyncio.current_task()
        if task is not None and task.get_name().endswith(":publish-loop"):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("a bug in the clock")
        return time.time_ns()


def twin_config(mqtt_url: str, db_url: str) -> CloudConfig:
    return CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url,
        http_port=0,
        tokens=(TokenConfig(token=VIEWER, name="vera", role="viewer"),),
    )


async def test_an_rsu_task_failure_is_an_alarm_at_the_twin(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    rsu_config = RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "server": {"port": 0, "grace_period_s": 0.5},
            "publish": {"rate_hz": 20},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
                "resend_after_s": 0.5,
            },
        }
    )
    async with (
        CloudService(twin_config(mqtt_url, db_url[0]), schema=db_url[1]) as service,
        RoadsideDaemon(rsu_config, clock=_PublishLoopClockFailingOnce()) as daemon,
    ):
        await until(lambda: bool(service.store.alarms(source=rsu_id)), "the RSU's alarm stored")
        stats = daemon.supervisor.stats["publish-loop"]
        await until(lambda: stats.restarts == 1, "the publish loop restarted")
        status, body = await asyncio.to_thread(call, service, "GET", "/api/v1/alarms", VIEWER)
        assert status == 200
        mine = [a for a in body["alarms"] if a["source"] == rsu_id]
        assert len(mine) == 1
        assert mine[0]["task"] == "publish-loop"
        assert mine[0]["error"] == "RuntimeError: a bug in the clock"
        assert mine[0]["at_ns"] > 0
        status, events = await asyncio.to_thread(
            call, service, "GET", f"/api/v1/events?kind=task_failed&rsu_id={rsu_id}", VIEWER
        )
        assert [e["detail"] for e in events["events"]] == [
            "publish-loop: RuntimeError: a bug in the clock"
        ]


async def test_a_twin_task_failure_is_stored_listed_and_counted(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    async with CloudService(twin_config(mqtt_url, db_url[0]), schema=db_url[1]) as service:
        # A real fault: the events table is gone, so storing an RSU's event fails and takes
        # the ingest session down (it is restarted).
        with service.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE events RENAME TO events_away"))
        link = CloudLink(
            CloudLinkConfig(
                command_keys=RSU_COMMAND_KEYS,
                enabled=True,
                mqtt_url=mqtt_url,
                outbox_path=str(tmp_path / "outbox.sqlite3"),
                resend_after_s=0.2,
                resend_max_s=0.5,
            ),
            rsu_id,
            GeodeticOrigin(50.9375, 6.9603, 55.0),
        )
        async with link:
            link.emit(Event(EventKind.OTHER, time.time_ns(), detail="into a missing table"))
            source = f"twin {service.worker_id}"
            await until(lambda: bool(service.store.alarms(source=source)), "the twin's alarm")
            with service.store.engine.begin() as conn:
                conn.execute(text("ALTER TABLE events_away RENAME TO events"))
            await until(lambda: link.outbox.pending() == 0, "the event stored once back")
        status, body = await asyncio.to_thread(
            call, service, "GET", f"/api/v1/alarms?source={source.replace(' ', '%20')}", VIEWER
        )
        assert status == 200
        alarm = body["alarms"][0]
        assert alarm["task"] == "ingest session"
        assert "events" in alarm["error"]  # names what failed: the missing table
        assert alarm["at_ns"] > 0
        assert service.metrics is not None
        scraped = samples(generate_latest(service.metrics.registry).decode())
        count = value(scraped, "vicoop_twin_alarms_total", source=source, task="ingest session")
        assert count == len(service.store.alarms(source=source)) >= 1


async def test_the_control_api_that_ends_is_alarmed_and_serves_again_on_its_port(
    mqtt_url: str, db_url: tuple[str, str | None]
) -> None:
    async with CloudService(twin_config(mqtt_url, db_url[0]), schema=db_url[1]) as service:
        url = service.url
        server = service._server
        assert server is not None
        server.should_exit = True  # the HTTP server stops serving on its own (a stand-in bug)
        stats = service.tasks.stats["http"]
        await until(lambda: stats.restarts == 1, "the HTTP server started again")
        await until(lambda: service._server is not server and service._server.started, "serving")
        assert service.url == url  # the same port: clients and the dashboard carry on
        source = f"twin {service.worker_id}"
        await until(lambda: bool(service.store.alarms(source=source)), "the alarm stored")
        status, body = await asyncio.to_thread(call, service, "GET", "/api/v1/alarms", VIEWER)
        assert status == 200
        (alarm,) = [a for a in body["alarms"] if a["source"] == source]
        assert (alarm["task"], alarm["error"]) == ("http", "ended unexpectedly")


async def test_a_zone_sync_that_fails_is_alarmed_and_recovers(
    mqtt_url: str, db_url: tuple[str, str | None]
) -> None:
    config = twin_config(mqtt_url, db_url[0]).model_copy(update={"zone_sync_s": 0.1})
    async with CloudService(config, schema=db_url[1]) as service:
        assert service.zone_sync is not None
        stats = service.zone_sync.supervisor.stats["zone-sync"]
        # A real fault: the zones table is gone, so the periodic reload fails.
        with service.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE zones RENAME TO zones_away"))
        source = f"twin {service.worker_id}"
        await until(lambda: stats.failures >= 1, "the zone sync failed")
        with service.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE zones_away RENAME TO zones"))
        await until(lambda: bool(service.store.alarms(source=source)), "the alarm stored")
        alarm = service.store.alarms(source=source)[0]
        assert alarm.task == "zone-sync" and "zones" in alarm.error
        failures = stats.failures
        await asyncio.sleep(1.0)
        assert stats.running and stats.failures == failures  # back in line: no more failures
