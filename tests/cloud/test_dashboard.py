"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright): the real
cloud service (embedded MQTT broker, SQLite) and an RSU publishing moving road users through the
real MQTT link; the page shows the RSU and its intersection's signal colours as the signal
controller reports them (and their change, live), its road users move on the map, a zone created through the REST API appears on the map with its rules, and an
event the RSU sends appears in the events list."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.cloudlink import CloudLink, CloudLinkConfig, SignalsConfig
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY
from vehicle.testing import crossroads_map
from vicoop.cloudmodel import Event, EventKind, SignalColour, SignalGroupState, SignalState
from vicoop.model import (
    DetectedObject,
    GeodeticOrigin,
    ObjectClass,
    PerceptionFrame,
    Size3,
    Vec3,
)
from vicoop.serving.spatfeed import SpatFeed
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed at /usr/bin/chromium: `make test` installs it with "
        "apt-get when run as root; otherwise `sudo apt-get install chromium`",
        allow_module_level=True,
    )
async_api = pytest.importorskip("playwright.async_api", reason="the dev extra's playwright")

VIEWER, OPERATOR = "viewer-token-0123456789", "operator-token-0123456789"
ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def frame(sequence: int, now_ns: int) -> PerceptionFrame:
    """A car driving east along y = -3 m at 8 m/s (back and forth over 120 m) and a pedestrian
    crossing north at 1.4 m/s, at ``now_ns``."""
    t = (now_ns / 1e9) % 30.0
    x = -60.0 + 8.0 * (t if t < 15.0 else 30.0 - t)
    vx = 8.0 if t < 15.0 else -8.0
    y = -10.0 + 1.4 * (t % 14.0)

    def obj(track: int, cls: ObjectClass, pos: Vec3, vel: Vec3, size: Size3) -> DetectedObject:
        return DetectedObject(
            track_id=track,
            object_class=cls,
            class_confidence=0.9,
            position=pos,
            velocity=vel,
            heading_rad=math.atan2(vel.y, vel.x),
            size=size,
            position_covariance=(0.1, 0.0, 0.0, 0.1, 0.0, 0.1),
            existence_probability=0.99,
            valid_at_ns=now_ns,
        )

    return PerceptionFrame(
        rsu_id="rsu-dash",
        sequence=sequence,
        valid_at_ns=now_ns,
        published_at_ns=now_ns,
        origin=ORIGIN,
        objects=(
            obj(1, ObjectClass.CAR, Vec3(x, -3.0), Vec3(vx, 0.0), Size3(4.5, 1.8, 1.5)),
            obj(2, ObjectClass.PEDESTRIAN, Vec3(6.0, y), Vec3(0.0, 1.4), Size3(0.5, 0.5, 1.7)),
        ),
    )


def controller_state(north_south: SignalColour) -> SignalState:
    """The signal controller's state of junction-1 (what the daemon's signal input hands the
    link): north and south ``north_south``, east and west the other way round."""
    other = SignalColour.RED if north_south is SignalColour.GREEN else SignalColour.GREEN
    return SignalState(
        "rsu-dash",
        "junction-1",
        time.time_ns(),
        tuple(
            SignalGroupState(a, a, north_south if a in ("north", "south") else other)
            for a in ("north", "east", "south", "west")
        ),
    )


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[CloudService, CloudLink, SpatFeed]]:
    """The cloud service (embedded broker, SQLite in tmp) and an RSU publishing through it,
    with junction-1's MAP and the SPaT feed it relays to the twin."""
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        db_url=f"sqlite:///{tmp_path / 'twin.sqlite3'}",
        http_port=0,
        tokens=(
            TokenConfig(token=VIEWER, name="vera", role="viewer"),
            TokenConfig(token=OPERATOR, name="otto", role="operator"),
        ),
        feed_interval_s=0.25,
    )
    async with CloudService(config) as service:
        link = CloudLink(
            CloudLinkConfig(
                command_keys=RSU_COMMAND_KEYS,
                enabled=True,
                mqtt_url=service.mqtt_url,
                outbox_path=str(tmp_path / "outbox.sqlite3"),
                summary_rate_hz=5.0,
                status_interval_s=1.0,
                signals=SignalsConfig(source="controller", stale_after_s=600),
            ),
            "rsu-dash",
            ORIGIN,
        )
        # Junction-1's MAP and its SPaT, as an RSU with a site map and a controller relays them.
        spat = SpatFeed("rsu-dash", ["junction-1"])
        link.relay_intersections(spat, (crossroads_map("junction-1"),))
        async with link:

            async def publish() -> None:
                sequence = 0
                while True:
                    sequence += 1
                    link.on_frame(frame(sequence, time.time_ns()))
                    await asyncio.sleep(0.1)

            feeder = asyncio.create_task(publish())
            try:
                yield service, link, spat
            finally:
                feeder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeder


async def visible(
    page: Any, locator: Any, what: str, console: list[str], state: str = "visible"
) -> None:
    """Wait (up to a minute) for ``locator``; on a timeout, fail naming ``what`` and the page's
    own state (feed link, snapshots applied, console), so a failure says where it stuck."""
    try:
        await locator.wait_for(timeout=60_000, state=state)
    except async_api.TimeoutError:
        link = await page.locator("#link").text_content()
        snapshots = await page.evaluate("document.body.dataset.snapshots || '0'")
        pytest.fail(
            f"the dashboard never showed {what}: feed link {link!r}, {snapshots} snapshots "
            f"applied, console: {console[-10:]}"
        )


def post(url: str, token: str, body: Any) -> int:
    request = urllib.request.Request(
        url,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


async def test_dashboard_shows_the_rsu_moving_objects_and_a_new_zone(
    live: tuple[CloudService, CloudLink, SpatFeed],
) -> None:
    service, link, _ = live
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=FLAGS,  # Playwright gives it a fresh user data dir of its own
            headless=True,
        )
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 850})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            outside: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith(service.url) else outside.append(r.url),
            )
            response = await page.goto(f"{service.url}/#token={VIEWER}")
            assert response is not None and response.status == 200
            # The token leaves the address bar once read.
            assert "token" not in page.url

            rsu = page.locator('[data-rsu-id="rsu-dash"]')
            await visible(page, rsu, "the RSU marker", console)
            assert await rsu.get_attribute("data-state") == "online"
            await visible(
                page, page.locator("#rsu-list", has_text="rsu-dash"), "the RSU list", console
            )
            link.on_signal(controller_state(SignalColour.GREEN))
            heads = page.locator('[data-intersection-id="junction-1"] circle[data-approach]')
            await visible(
                page,
                page.locator(
                    '[data-intersection-id="junction-1"] circle[data-approach="north"]'
                    '[data-colour="green"]'
                ),
                "north green as the controller reported",
                console,
            )
            colours = {
                await h.get_attribute("data-approach"): await h.get_attribute("data-colour")
                for h in await heads.all()
            }
            assert colours == {"north": "green", "east": "red", "south": "green", "west": "red"}
            link.on_signal(controller_state(SignalColour.RED))
            await visible(
                page,
                page.locator(
                    '[data-intersection-id="junction-1"] circle[data-approach="east"]'
                    '[data-colour="green"]'
                ),
                "east green after the controller changed",
                console,
            )

            car = page.locator('.obj[data-class="car"]')
            await visible(page, car, "the car", console)

            async def where() -> tuple[float, float]:
                box = await car.bounding_box()
                assert box is not None
                return box["x"], box["y"]

            first = await where()
            moved = False
            for _ in range(120):  # a hang guard: up to a minute
                await asyncio.sleep(0.5)
                now = await where()
                if math.dist(first, now) > 3.0:
                    moved = True
                    break
            assert moved, "the car never moved on the map"

            zone = {
                "zone_id": "school",
                "name": "School street",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [6.9598, 50.9372],
                            [6.9608, 50.9372],
                            [6.9608, 50.9378],
                            [6.9598, 50.9378],
                            [6.9598, 50.9372],
                        ]
                    ],
                },
                "rules": {"speed_limit_mps": 8.33, "allowed_classes": ["car", "bicycle"]},
            }
            assert (
                await asyncio.to_thread(post, f"{service.url}/api/v1/zones", OPERATOR, zone) == 201
            )
            polygon = page.locator('path[data-zone-id="school"]')
            await visible(page, polygon, "the new zone's polygon", console)
            box = await polygon.bounding_box()
            assert box is not None and box["width"] > 5 and box["height"] > 5
            await visible(
                page, page.locator("#zone-list", has_text="School street"), "the zone list", console
            )
            assert await page.locator("#zone-list").get_by_text("≤ 30 km/h").count() == 1
            # Events back to back: each announcement may come while the page is still loading
            # the one before; none may be lost.
            for _ in range(3):
                link.emit(
                    Event(EventKind.ZONE_SPEEDING, time.time_ns(), zone_id="school", value=11)
                )
                link.emit(Event(EventKind.ZONE_CLOSED_ENTRY, time.time_ns(), zone_id="school"))
                await asyncio.sleep(0.02)
            speeding = page.locator("#event-list li", has_text="Speeding in zone")
            await visible(page, speeding.nth(2), "the third speeding event", console)
            entries = page.locator("#event-list li", has_text="Entry into closed zone")
            await visible(page, entries.nth(2), "the third closed-zone entry", console)
            assert errors == []
            assert outside == [], "the page loaded something from outside the service"
        finally:
            await browser.close()


async def test_dashboard_draws_the_map_and_signal_heads_with_countdowns(
    live: tuple[CloudService, CloudLink, SpatFeed],
) -> None:
    """An operator sees roads, not a blank grid: junction-1's lanes, stop lines and crosswalk
    from its MAP, and at each stop line a signal head in its group's state with a countdown."""
    service, _, spat = live
    green, red = MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED, MovementPhaseState.STOP_AND_REMAIN
    change = time.time_ns() + 40 * 1_000_000_000
    spat.publish(
        [
            Spat(
                "junction-1",
                time.time_ns(),
                1,
                ControlMode.FIXED_TIME,
                (
                    MovementEvent(2, green, change, change, change, 1.0),
                    MovementEvent(4, red, change, change + 30 * 1_000_000_000, None),
                ),
            )
        ]
    )
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 850})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            await page.goto(f"{service.url}/#token={VIEWER}")
            # (SVG lines: a straight one has no height, so Playwright calls it hidden.)
            lanes = page.locator("path.map-lane")
            await visible(page, lanes.nth(7), "the eight lanes", console, state="attached")
            assert await page.locator("path.map-lane").count() == 8
            assert await page.locator("path.map-stop-line").count() == 4
            assert await page.locator("path.map-crosswalk").count() == 1
            # The north ingress lane's head: group 2 green, changing in about 40 s.
            north = page.locator(
                '[data-intersection-id="junction-1"][data-lane-id="1"] .head[data-group="2"]'
            )
            await visible(
                page,
                north.and_(page.locator('[data-state="protected_movement_allowed"]')),
                "group 2 green",
                console,
            )
            text = await north.locator(".countdown").text_content()
            assert text is not None and text.endswith(" s") and 30 <= int(text[:-2]) <= 40, text
            east = page.locator(
                '[data-intersection-id="junction-1"][data-lane-id="3"] .head[data-group="4"]'
            )
            await visible(
                page,
                east.and_(page.locator('[data-state="stop_and_remain"]')),
                "group 4 red",
                console,
            )
            window = await east.locator(".countdown").text_content()
            assert window is not None and "\u2013" in window, window  # only a window is known
            box = await lanes.first.bounding_box()
            assert box is not None and max(box["width"], box["height"]) > 20  # drawn to scale
            assert errors == []
        finally:
            await browser.close()
