"""The RSU daemon's /metrics, scraped over HTTP while real UDP sensor input and a real gRPC
subscriber run through it."""

from __future__ import annotations

import asyncio
import socket
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from tests.conftest import until
from vehicle import RoadsideClient
from vicoop.config import validate
from vicoop.supervise import Supervisor


def scrape_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return str(response.read().decode())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return samples(await asyncio.to_thread(scrape_text, url))


def value(
    m: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return m.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_scraped_metrics_move_with_frames_bad_datagrams_and_restarts() -> None:
    config = validate(
        RsuConfig,
        {"server": {"port": 0}, "publish": {"rate_hz": 50}, "source": {"kind": "sensors"}},
        "rsu.yaml",
    )
    async with RoadsideDaemon(config) as daemon:
        assert daemon.metrics_server is not None
        url = daemon.metrics_server.url
        before = await scrape(url)
        assert (
            value(
                before,
                "vicoop_rsu_inputs_rejected_total",
                input="sensor:radar-1",
                reason="truncated",
            )
            == 0
        )

        frames = 0
        async with RoadsideClient(daemon.target) as rsu:
            async for _ in rsu.perception():
                frames += 1
                if frames == 5:
                    break
        m = await scrape(url)
        assert value(m, "vicoop_rsu_frames_delivered_total") >= 5
        assert value(m, "vicoop_rsu_frames_published_total") >= 5
        assert value(m, "vicoop_rsu_fusion_cycle_seconds_count") >= 5
        # Never heard from: both sensors are silent (3).
        assert value(m, "vicoop_rsu_sensor_health", sensor="radar-1", kind="radar") == 3

        port = daemon.source.ports["radar-1"]  # type: ignore[attr-defined]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"\x00garbage", ("127.0.0.1", port))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:  # a hang guard, as tests.conftest.until (the scrape itself is async)
            m = await scrape(url)
            rejected = value(
                m, "vicoop_rsu_inputs_rejected_total", input="sensor:radar-1", reason="truncated"
            )
            if rejected or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        assert rejected == 1

        # A supervised task that fails shows in task restarts.
        supervisor = Supervisor("rsu", healthy_after_s=3600)
        runs = [0]

        async def flaky() -> None:
            runs[0] += 1
            if runs[0] == 1:
                raise RuntimeError("boom")
            await asyncio.Event().wait()

        setattr(daemon, "supervisor", supervisor)  # noqa: B010 (as a daemon part would hold it)
        supervisor.spawn("flaky", flaky)
        await until(lambda: runs[0] == 2, "the flaky task restarted")
        m = await scrape(url)
        assert value(m, "vicoop_rsu_task_restarts_total", owner="rsu", task="flaky") == 1
        assert value(m, "vicoop_rsu_task_running", owner="rsu", task="flaky") == 1
        await supervisor.stop()


async def test_metrics_can_be_turned_off_and_two_daemons_do_not_collide() -> None:
    on = RsuConfig.model_validate({"server": {"port": 0}})
    off = RsuConfig.model_validate({"server": {"port": 0}, "metrics": {"enabled": False}})
    async with RoadsideDaemon(on) as a, RoadsideDaemon(on) as b, RoadsideDaemon(off) as c:
        assert (
            a.metrics_server and b.metrics_server and a.metrics_server.port != b.metrics_server.port
        )
        assert c.metrics_server is None
        text = await asyncio.to_thread(scrape_text, b.metrics_server.url)
        assert "vicoop_rsu_frames_published_total" in text
