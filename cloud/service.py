"""The cloud service: broker (embedded or external), store, twin, MQTT ingest, control API and
dashboard, with one ``start()``/``stop()``. ``vicoop cloud run`` and ``vicoop demo`` use it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import uvicorn

from cloud.broker import EmbeddedBroker
from cloud.config import CloudConfig, Role
from cloud.feed import Feed
from cloud.ingest import TwinIngest
from cloud.store import Store, rules_to_json
from cloud.twin import RsuView, Twin
from cloud.zones import ZoneManager
from vicoop.cloudmodel import SignalGroupState
from vicoop.model import ObjectClass
from vicoop.zones import TimeWindow, Zone, ZoneRules

if TYPE_CHECKING:
    from cloud.api import IntersectionOut, ObjectOut, Principal, RsuOut, SignalGroupOut, ZoneIn

log = logging.getLogger(__name__)


class CloudService:
    def __init__(
        self,
        config: CloudConfig,
        *,
        schema: str | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.clock = clock
        self.twin = Twin(offline_after_s=config.offline_after_s)
        self.zones = ZoneManager(resend_after_s=config.command_resend_s)
        self.store = Store(config.db_url, schema=schema)
        self.feed = Feed()
        self.tokens: dict[str, tuple[str, Role]] = {
            t.token: (t.name, t.role) for t in config.tokens
        }
        self.generated_tokens: dict[Role, str] = {}
        if not self.tokens:
            for role in ("viewer", "operator", "admin"):
                token = secrets.token_urlsafe(24)
                self.tokens[token] = (f"{role}-generated", role)  # type: ignore[assignment]
                self.generated_tokens[role] = token  # type: ignore[index]
        self.broker: EmbeddedBroker | None = None
        self.ingest: TwinIngest | None = None
        self.mqtt_url = config.mqtt_url or ""
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.feed_errors = 0

    @property
    def url(self) -> str:
        return f"http://{self.config.http_host}:{self.port}"

    async def start(self) -> None:
        if self.config.mqtt_url is None:
            self.broker = EmbeddedBroker()
            await self.broker.start()
            self.mqtt_url = self.broker.url
        await asyncio.to_thread(self.store.migrate)
        zones, deleted = await asyncio.to_thread(self.store.load_zones)
        for zone in zones:
            self.zones.put(zone)
        self.zones.deleted.update(deleted)
        self.twin.remember(await asyncio.to_thread(self.store.outbox_keys))
        self.ingest = TwinIngest(
            self.twin,
            self.zones,
            self.store,
            self.mqtt_url,
            clock=self.clock,
            notify=self.feed.publish,
            shared_group=self.config.shared_group,
            client_id=f"vicoop-twin-{secrets.token_hex(4)}",
        )
        await self.ingest.start()
        from cloud.api import create_app

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.http_host, self.config.http_port))
        self.port = int(sock.getsockname()[1])
        server = uvicorn.Server(
            uvicorn.Config(create_app(self), log_level="warning", lifespan="off", access_log=False)
        )
        self._server = server
        self._tasks.append(asyncio.create_task(server.serve(sockets=[sock]), name="cloud-http"))
        self._tasks.append(asyncio.create_task(self._snapshots(), name="cloud-feed"))
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
            await asyncio.sleep(0.01)
        log.info(
            "cloud twin on %s (MQTT %s, store %s)", self.url, self.mqtt_url, self.store.dialect
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        for task in self._tasks:
            if task.get_name() == "cloud-feed":
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.ingest is not None:
            await self.ingest.stop()
        if self.broker is not None:
            await self.broker.stop()
        self.store.close()

    async def __aenter__(self) -> CloudService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # zones ---------------------------------------------------------------------------------------

    async def put_zone(self, zone_id: str, body: ZoneIn, who: Principal) -> Zone:
        rules = body.rules
        zone = Zone(
            zone_id=zone_id,
            version=self.zones.next_version(zone_id),
            name=body.name,
            polygon=tuple((lon, lat) for lon, lat in body.geometry.coordinates[0][:-1])
            if body.geometry.coordinates[0][0] == body.geometry.coordinates[0][-1]
            else tuple(body.geometry.coordinates[0]),
            rules=ZoneRules(
                speed_limit_mps=rules.speed_limit_mps,
                allowed_classes=frozenset(ObjectClass[c.upper()] for c in rules.allowed_classes),
                allowed_permit_ids=frozenset(rules.allowed_permit_ids),
                closed=rules.closed,
                closed_lanes=tuple(rules.closed_lanes),
                time_windows=tuple(
                    TimeWindow(w.start_minute, w.end_minute, frozenset(w.weekdays))
                    for w in rules.time_windows
                ),
                min_headway_s=rules.min_headway_s,
            ),
            updated_at_ns=self.clock(),
        )
        await asyncio.to_thread(self.store.save_zone, zone, deleted=False, by=who.name)
        await asyncio.to_thread(
            self.store.audit,
            self.clock(),
            who.name,
            who.role,
            "zone.put",
            zone_id,
            {"version": zone.version, "rules": rules_to_json(zone.rules)},
        )
        self.zones.put(zone)
        self._reconcile_all()
        self.feed.publish("zone", {"zone_id": zone_id, "version": zone.version})
        return zone

    async def delete_zone(self, zone_id: str, who: Principal) -> None:
        zone = self.zones.zones[zone_id]
        version = self.zones.delete(zone_id)
        tomb = Zone(zone.zone_id, version, zone.name, zone.polygon, zone.rules, self.clock())
        await asyncio.to_thread(self.store.save_zone, tomb, deleted=True, by=who.name)
        await asyncio.to_thread(
            self.store.audit,
            self.clock(),
            who.name,
            who.role,
            "zone.delete",
            zone_id,
            {"version": version},
        )
        self._reconcile_all()
        self.feed.publish("zone", {"zone_id": zone_id, "deleted": True})

    def _reconcile_all(self) -> None:
        now = self.clock()
        for view in self.twin.rsus.values():
            if view.online:
                self.zones.reconcile(
                    view.rsu_id, view.origin, view.coverage_radius_m, view.zone_versions, now
                )
        if self.ingest is not None:
            self.ingest.kick()

    # views ---------------------------------------------------------------------------------------

    def rsu_out(self, view: RsuView) -> RsuOut:
        from cloud.api import RsuOut

        return RsuOut(
            rsu_id=view.rsu_id,
            online=view.online,
            health=view.health.name.lower(),
            latitude_deg=view.origin.latitude_deg,
            longitude_deg=view.origin.longitude_deg,
            coverage_radius_m=view.coverage_radius_m,
            last_seen_ns=view.last_seen_ns,
            outbox_pending=view.outbox_pending,
            zone_versions=view.zone_versions,
            sensors=[
                {
                    "sensor_id": s.sensor_id,
                    "kind": s.kind.name.lower(),
                    "health": s.health.name.lower(),
                }
                for s in view.sensors
            ],
        )

    def group_out(self, g: SignalGroupState) -> SignalGroupOut:
        from cloud.api import SignalGroupOut

        return SignalGroupOut(
            group_id=g.group_id,
            approach=g.approach,
            colour=g.colour.name.lower(),
            next_change_ns=g.next_change_ns,
        )

    def intersections_out(self) -> list[IntersectionOut]:
        from cloud.api import IntersectionOut

        out = []
        for i in self.twin.intersections():
            state = self.twin.signals.get(i.intersection_id)
            out.append(
                IntersectionOut(
                    intersection_id=i.intersection_id,
                    rsu_id=i.rsu_id,
                    latitude_deg=i.latitude_deg,
                    longitude_deg=i.longitude_deg,
                    signal=[self.group_out(g) for g in state.groups] if state else [],
                    measures=[
                        {
                            "approach": m.approach,
                            "vehicle_count": m.vehicle_count,
                            "queue_length_m": m.queue_length_m,
                            "mean_speed_mps": m.mean_speed_mps,
                        }
                        for (iid, _), m in sorted(self.twin.measures.items())
                        if iid == i.intersection_id
                    ],
                )
            )
        return out

    def objects_out(self) -> list[ObjectOut]:
        from cloud.api import ObjectOut

        return [
            ObjectOut(
                object_id=o.object_id,
                object_class=o.object_class.name.lower(),
                latitude_deg=o.latitude_deg,
                longitude_deg=o.longitude_deg,
                speed_mps=o.speed_mps,
                heading_rad=o.heading_rad,
                length_m=o.length_m,
                width_m=o.width_m,
                vehicle_id=o.vehicle_id,
                seen_by=list(o.seen_by),
                valid_at_ns=o.valid_at_ns,
            )
            for o in self.twin.objects(self.clock())
        ]

    def metrics(self) -> dict[str, float]:
        c = self.twin.counters
        # The largest lag of the latest 1000 summaries applied.
        recent = list(itertools.islice(reversed(self.ingest.lag_ns), 1000)) if self.ingest else []
        return {
            "rsus_online": sum(1 for r in self.twin.rsus.values() if r.online),
            "rsus_known": len(self.twin.rsus),
            "messages_ingested": self.ingest.messages if self.ingest else 0,
            "statuses": c.statuses,
            "summaries": c.summaries,
            "signals": c.signals,
            "vehicle_reports": c.reports,
            "events": c.events,
            "acks": c.acks,
            "duplicates_discarded": c.duplicates_discarded,
            "malformed_messages": c.malformed,
            "commands_pending": len(self.zones.pending()),
            "feed_subscribers": len(self.feed.subscribers),
            "ingest_lag_ms_max_recent": (max(recent) / 1e6) if recent else 0.0,
            "ingest_handler_errors": c.handler_errors,
            "feed_errors": self.feed_errors,
        }

    def snapshot(self) -> dict[str, Any]:
        from cloud.api import zone_out

        return {
            "rsus": [self.rsu_out(v).model_dump() for v in self.twin.rsus.values()],
            "intersections": [i.model_dump() for i in self.intersections_out()],
            "objects": [o.model_dump() for o in self.objects_out()],
            "zones": [zone_out(z).model_dump() for z in self.zones.zones.values()],
        }

    def snapshot_message(self) -> str:
        import json

        return f"event: snapshot\ndata: {json.dumps(self.snapshot(), separators=(',', ':'))}\n\n"

    async def _snapshots(self) -> None:
        while True:
            await asyncio.sleep(self.config.feed_interval_s)
            if not self.feed.subscribers:
                continue
            try:
                snapshot = self.snapshot()
            except Exception:  # a bug in a view must not end the live feed for good
                self.feed_errors += 1
                log.exception("building the live feed's snapshot failed")
                continue
            self.feed.publish("snapshot", snapshot)
