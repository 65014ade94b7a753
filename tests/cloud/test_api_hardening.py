"""The control API as an attacker on the network finds it (issue: trust boundaries): each
attack the issue names, tried against a real twin over HTTP, and refused.

Needs: an MQTT broker (``MQTT_URL`` or an embedded one) and a database (``DATABASE_URL`` or
SQLite), as every cloud test.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cloud.auth import token_digest
from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from tests.conftest import TWIN_KEY
from vicoop.errors import ConfigError

VIEWER = "viewer-token-hardening-0001"
OPERATOR = "operator-token-hardening-01"
ZONE = {
    "zone_id": "works",
    "name": "Road works",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[6.9598, 50.937], [6.9608, 50.937], [6.9608, 50.938], [6.9598, 50.937]]],
    },
    "rules": {"speed_limit_mps": 5.0},
}


def call(
    url: str, method: str, path: str, token: str | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        url + path,
        method=method,
        data=body,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), _payload(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), _payload(exc.read())


def _payload(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


async def raw_request(port: int, head: str, body: bytes = b"") -> bytes:
    """Send ``head`` (and ``body``) on a fresh connection; the response's first 4 KiB. A server
    that waited for the rest of a declared body would never answer: the timeout fails the
    test rather than hanging it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        async with asyncio.timeout(20):
            return await reader.read(4096)
    finally:
        writer.close()
        await writer.wait_closed()


def config(mqtt_url: str, db_url: str, **extra: Any) -> CloudConfig:
    return CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url,
        http_port=0,
        tokens=(
            TokenConfig(token_sha256=token_digest(VIEWER), name="vera", role="viewer"),
            TokenConfig(token=OPERATOR, name="otto", role="operator"),
        ),
        **extra,
    )


@pytest.fixture
async def service(mqtt_url: str, db_url: tuple[str, str | None]) -> AsyncIterator[CloudService]:
    cfg = config(mqtt_url, db_url[0], auth_failures_allowed=6, max_body_bytes=64 * 1024)
    async with CloudService(cfg, schema=db_url[1]) as svc:
        yield svc


async def test_an_unauthenticated_post_is_refused_before_its_body_is_read(
    service: CloudService,
) -> None:
    # The attack: a 42 MB body with no token used to be read and parsed before the 401.
    assert service.port is not None

    def head(length: int) -> str:
        return (
            "POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n"
        )

    # Under the size cap: answered 401 with most of the body never sent (a server reading it
    # first would wait for the rest).
    answer = await raw_request(service.port, head(60_000), b"[" * 1000)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    # Over the cap: refused at once, the body neither read nor waited for.
    answer = await raw_request(service.port, head(42_000_000), b"[" * 65536)
    assert answer.startswith((b"HTTP/1.1 401", b"HTTP/1.1 413")), answer[:200]


async def test_a_body_over_the_cap_is_refused_even_with_a_token(service: CloudService) -> None:
    assert service.port is not None
    declared = (
        "POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {OPERATOR}\r\nContent-Length: 5000000\r\n\r\n"
    )
    assert (await raw_request(service.port, declared, b"{")).startswith(b"HTTP/1.1 413")
    # Without a Content-Length (chunked), the body is cut off at the cap as it streams in.
    chunk = b"x" * 32768
    chunked = (
        "POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {OPERATOR}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    body = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * 4 + b"0\r\n\r\n"
    assert (await raw_request(service.port, chunked, body)).startswith(b"HTTP/1.1 413")
    # A body under the cap still works.
    status, _, _ = await asyncio.to_thread(
        call, service.url, "POST", "/api/v1/zones", OPERATOR, json.dumps(ZONE).encode()
    )
    assert status == 201


async def test_query_tokens_are_refused_and_the_feed_takes_only_a_short_lived_feed_token(
    service: CloudService,
) -> None:
    url = service.url
    # The attack: ?access_token= worked on every route (and the dashboard put the viewer
    # token in its feed URL, where proxies and logs keep it).
    assert (await asyncio.to_thread(call, url, "GET", f"/api/v1/zones?access_token={VIEWER}"))[
        0
    ] == 401
    assert (await asyncio.to_thread(call, url, "GET", f"/api/v1/feed?access_token={VIEWER}"))[
        0
    ] == 401
    status, _, issued = await asyncio.to_thread(call, url, "POST", "/api/v1/feed-token", VIEWER)
    assert status == 200 and issued["expires_at_ns"] > 0
    feed = issued["feed_token"]
    assert feed != VIEWER
    # A feed token opens the feed, and nothing else.
    assert service.port is not None
    head = f"GET /api/v1/feed?feed_token={feed} HTTP/1.1\r\nHost: x\r\n\r\n"
    assert (await raw_request(service.port, head)).startswith(b"HTTP/1.1 200")
    assert (await asyncio.to_thread(call, url, "GET", "/api/v1/zones", feed))[0] == 401
    assert (await asyncio.to_thread(call, url, "GET", f"/api/v1/zones?feed_token={feed}"))[0] == 401
    tampered = feed[:-2] + ("AA" if not feed.endswith("AA") else "BB")
    head = f"GET /api/v1/feed?feed_token={tampered} HTTP/1.1\r\nHost: x\r\n\r\n"
    assert (await raw_request(service.port, head)).startswith(b"HTTP/1.1 401")


async def test_failed_authentication_is_logged_and_then_answered_429(
    service: CloudService, caplog: pytest.LogCaptureFixture
) -> None:
    url = service.url
    caplog.set_level(logging.WARNING, logger="cloud.guard")
    for _ in range(6):  # the fixture allows 6 failures a minute
        assert (await asyncio.to_thread(call, url, "GET", "/api/v1/rsus", "guess-" * 4))[0] == 401
    status, headers, _ = await asyncio.to_thread(call, url, "GET", "/api/v1/rsus", "guess-" * 4)
    assert status == 429 and int(headers["retry-after"]) > 0
    # Once blocked, the address gets nothing, so it cannot tell a right guess from a wrong one.
    assert (await asyncio.to_thread(call, url, "GET", "/api/v1/rsus", VIEWER))[0] == 429
    failures = [r for r in caplog.records if "authentication failed from 127.0.0.1" in r.message]
    assert len(failures) == 6


async def test_responses_carry_security_headers(service: CloudService) -> None:
    _, api, _ = await asyncio.to_thread(call, service.url, "GET", "/api/v1/whoami", VIEWER)
    lower = {k.lower(): v for k, v in api.items()}
    assert lower["x-content-type-options"] == "nosniff"
    assert lower["cache-control"] == "no-store"
    assert lower["x-frame-options"] == "DENY"
    _, page, _ = await asyncio.to_thread(call, service.url, "GET", "/")
    page = {k.lower(): v for k, v in page.items()}
    assert "script-src 'self'" in page["content-security-policy"]
    assert "frame-ancestors 'none'" in page["content-security-policy"]
    assert page["referrer-policy"] == "no-referrer"


async def test_who_is_the_token_holder_and_its_address(service: CloudService) -> None:
    status, _, who = await asyncio.to_thread(call, service.url, "GET", "/api/v1/whoami", VIEWER)
    assert status == 200
    assert who == {"name": "vera", "role": "viewer", "client": "127.0.0.1"}


async def test_a_twin_without_tokens_starts_only_in_development(
    mqtt_url: str, db_url: tuple[str, str | None]
) -> None:
    with pytest.raises(ConfigError, match=r"^tokens: no API token is configured"):
        CloudService(
            CloudConfig(
                command_signing_key_file=TWIN_KEY, mqtt_url=mqtt_url, db_url=db_url[0], http_port=0
            )
        )
    dev = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        dev=True,
    )
    async with CloudService(dev, schema=db_url[1]) as svc:
        admin = svc.generated_tokens["admin"]
        status, _, who = await asyncio.to_thread(call, svc.url, "GET", "/api/v1/whoami", admin)
        assert status == 200 and who["role"] == "admin"


def test_a_token_config_holds_one_secret_and_the_digest_is_printed_by_the_cli() -> None:
    with pytest.raises(ValueError, match="exactly one of token and token_sha256"):
        TokenConfig(name="x")
    with pytest.raises(ValueError, match="exactly one of token and token_sha256"):
        TokenConfig(name="x", token=VIEWER, token_sha256=token_digest(VIEWER))
    printed = subprocess.run(
        [sys.executable, "-m", "console.cli", "cloud", "token-digest"],
        input=VIEWER + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert printed == token_digest(VIEWER)
    assert (
        TokenConfig(name="v", token_sha256=printed).digest()
        == TokenConfig(name="v", token=VIEWER).digest()
    )
