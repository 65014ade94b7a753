"""The twin's /metrics over its HTTP server, with a real RSU daemon publishing through the real
broker: ingest counters and lag move, a malformed message is counted by reason, API requests are
timed per route, and the endpoint wants a viewer token."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import aiomqtt
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, until
from tests.roadside.test_metrics import samples, value
from tests.roadside.test_metrics import scrape_text as scrape_rsu
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url

from .test_api import VIEWER, call


def scrape_text(url: str, token: str | None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url + "/metrics", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


async def test_twin_metrics_follow_an_rsu_and_the_api(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=VIEWER, name="vera", role="viewer"),),
    )
    rsu_config = RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "server": {"port": 0, "grace_period_s": 0.5},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
            },
        }
    )
    async with CloudService(config, schema=db_url[1]) as service, RoadsideDaemon(rsu_config):
        with pytest.raises(urllib.error.HTTPError, match="401"):
            await asyncio.to_thread(scrape_text, service.url, None)

        async def scraped() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            return samples(await asyncio.to_thread(scrape_text, service.url, VIEWER))

        await until(lambda: service.twin.counters.summaries >= 2, "two summaries in the twin")
        m = await scraped()
        assert value(m, "vicoop_twin_applied_total", kind="summary") >= 2
        assert value(m, "vicoop_twin_messages_ingested_total") >= 2
        assert value(m, "vicoop_twin_ingest_lag_seconds") > 0
        assert value(m, "vicoop_twin_summary_lag_seconds_count") >= 2  # the histogram too
        assert value(m, "vicoop_twin_rsus_online") >= 1

        status, _ = await asyncio.to_thread(call, service, "GET", "/api/v1/rsus", VIEWER)
        assert status == 200
        m = await scraped()
        route = {"route": "/api/v1/rsus", "method": "GET", "status": "200"}
        assert value(m, "vicoop_twin_api_request_duration_seconds_count", **route) == 1

        before = value(m, "vicoop_twin_inputs_rejected_total", reason="malformed")
        url = parse_mqtt_url(mqtt_url)
        async with aiomqtt.Client(url.host, url.port, identifier=f"{rsu_id}-bad") as client:
            await client.publish(Topic(rsu_id, TopicKind.PERCEPTION).format(), b"\x00garbage")
        await until(
            lambda: service.ingest is not None and service.ingest.session.stats.malformed > before,
            "the malformed message counted",
        )
        m = await scraped()
        assert value(m, "vicoop_twin_inputs_rejected_total", reason="malformed") >= before + 1


DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "vicoop-dashboard.json"


def exported_names(text: str) -> set[str]:
    """Every series name a scrape offers, labelled families without samples yet included."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_count", "_sum")}
        names |= {s.name for s in family.samples}
    return names


async def test_every_metric_the_grafana_dashboard_queries_is_exported(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    wanted = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bvicoop_[a-z0-9_]+", target["expr"])
    }
    assert wanted, "the dashboard queries nothing"
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=VIEWER, name="vera", role="viewer"),),
    )
    rsu_config = RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "server": {"port": 0, "grace_period_s": 0.5},
            "source": {"kind": "sensors"},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
            },
        }
    )
    async with CloudService(config, schema=db_url[1]) as service, RoadsideDaemon(rsu_config) as rsu:
        await until(lambda: service.twin.counters.summaries >= 1, "a summary in the twin")
        await asyncio.to_thread(call, service, "GET", "/api/v1/rsus", VIEWER)
        assert rsu.metrics_server is not None
        rsu_text = await asyncio.to_thread(scrape_rsu, rsu.metrics_server.url)
        twin_text = await asyncio.to_thread(scrape_text, service.url, VIEWER)
    missing = wanted - exported_names(rsu_text) - exported_names(twin_text)
    assert not missing, f"the dashboard queries metrics no daemon exports: {sorted(missing)}"
