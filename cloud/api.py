"""The control API (FastAPI; OpenAPI at ``/openapi.json``) and the dashboard's static files.

Bearer-token authentication with three roles: ``viewer`` reads, ``operator`` also changes zones,
``admin`` also reads the audit log. Every change is audit-logged with who and when. Request
bodies are validated by pydantic models: a bad one gets 422 naming the field (``loc``).
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cloud.config import Role
from cloud.store import rules_to_json
from vicoop.cloudmodel import EventKind
from vicoop.zones import Zone, polygon_problem

if TYPE_CHECKING:
    from cloud.service import CloudService

STATIC = Path(__file__).resolve().parent / "dashboard"
RANK = {"viewer": 0, "operator": 1, "admin": 2}
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
ClassName = Literal[
    "unknown", "pedestrian", "bicycle", "motorcycle", "car", "van", "truck", "bus", "tram", "animal"
]
EventKindName = Literal[
    "zone_speeding",
    "zone_closed_entry",
    "zone_class_not_allowed",
    "vehicle_report_rejected",
    "sensor_health",
    "other",
    "zone_permit_not_accepted",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TimeWindowIn(Strict):
    start_minute: int = Field(ge=0, lt=1440, description="minute of the day (UTC) it opens")
    end_minute: int = Field(gt=0, le=1440, description="minute of the day it closes")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default=[], max_length=7)

    @field_validator("end_minute")
    @classmethod
    def _differs(cls, end: int, info: Any) -> int:
        if info.data.get("start_minute") == end:
            raise ValueError("end_minute must differ from start_minute")
        return end


class RulesIn(Strict):
    speed_limit_mps: float = Field(0.0, ge=0, le=100, description="m/s; 0 = no limit")
    allowed_classes: list[ClassName] = Field(default=[], max_length=10)
    allowed_permit_ids: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default=[], max_length=1000
    )
    closed: bool = False
    closed_lanes: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default=[], max_length=100
    )
    time_windows: list[TimeWindowIn] = Field(default=[], max_length=50)
    min_headway_s: float = Field(0.0, ge=0, le=60)


class PolygonIn(Strict):
    """A GeoJSON Polygon (lon, lat degrees), exterior ring only."""

    type: Literal["Polygon"]
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1, max_length=1)

    @field_validator("coordinates")
    @classmethod
    def _simple(cls, rings: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        problem = polygon_problem(rings[0])
        if problem:
            raise ValueError(f"the polygon {problem}")
        return rings


class ZoneIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    geometry: PolygonIn
    rules: RulesIn = RulesIn()


class ZoneCreate(ZoneIn):
    zone_id: str = Field(pattern=ID_PATTERN)


class ZoneOut(BaseModel):
    zone_id: str
    version: int
    name: str
    geometry: dict[str, Any]
    rules: dict[str, Any]
    updated_at_ns: int


class RsuOut(BaseModel):
    rsu_id: str
    online: bool
    health: str
    latitude_deg: float
    longitude_deg: float
    coverage_radius_m: float
    last_seen_ns: int
    outbox_pending: int
    zone_versions: dict[str, int]
    sensors: list[dict[str, Any]]


class SignalGroupOut(BaseModel):
    group_id: str
    approach: str
    colour: str
    next_change_ns: int


class IntersectionOut(BaseModel):
    intersection_id: str
    rsu_id: str
    latitude_deg: float
    longitude_deg: float
    signal: list[SignalGroupOut]
    measures: list[dict[str, Any]]


class SignalOut(BaseModel):
    intersection_id: str
    valid_at_ns: int
    groups: list[SignalGroupOut]


class ObjectOut(BaseModel):
    object_id: str
    object_class: str
    latitude_deg: float
    longitude_deg: float
    speed_mps: float
    heading_rad: float
    length_m: float
    width_m: float
    vehicle_id: str
    seen_by: list[str]
    valid_at_ns: int


class EventOut(BaseModel):
    id: int
    rsu_id: str
    sequence: int
    kind: str
    occurred_at_ns: int
    received_at_ns: int
    zone_id: str
    vehicle_id: str
    track_id: int
    x_m: float
    y_m: float
    value: float
    detail: str


class EventPage(BaseModel):
    events: list[EventOut]
    next_after_id: int = Field(description="pass as after_id for the next page")


class Principal(BaseModel):
    name: str
    role: Role


def zone_out(zone: Zone) -> ZoneOut:
    return ZoneOut(
        zone_id=zone.zone_id,
        version=zone.version,
        name=zone.name,
        geometry=zone.to_geojson(),
        rules=rules_to_json(zone.rules),
        updated_at_ns=zone.updated_at_ns,
    )


def create_app(service: "CloudService") -> FastAPI:
    app = FastAPI(
        title="vicoop cloud twin",
        version="1",
        description="Control API of the pilot zone's digital twin. Bearer tokens; roles "
        "viewer < operator < admin.",
    )
    tokens = service.tokens

    def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        token = token or request.query_params.get("access_token", "")
        found = tokens.get(token)
        if found is None:
            raise HTTPException(
                401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        return Principal(name=found[0], role=found[1])

    def require(role: Role) -> Callable[[Principal], Principal]:
        def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
            if RANK[who.role] < RANK[role]:
                raise HTTPException(403, f"role {who.role} may not do this; needs {role}")
            return who

        return check

    Viewer = Annotated[Principal, Depends(require("viewer"))]
    Operator = Annotated[Principal, Depends(require("operator"))]
    Admin = Annotated[Principal, Depends(require("admin"))]
    responses: dict[int | str, dict[str, Any]] = {
        401: {"description": "no or unknown token"},
        403: {"description": "role too low"},
    }

    @app.get("/api/v1/rsus", response_model=list[RsuOut], responses=responses)
    def rsus(who: Viewer) -> list[RsuOut]:
        return [
            service.rsu_out(v) for v in sorted(service.twin.rsus.values(), key=lambda v: v.rsu_id)
        ]

    @app.get(
        "/api/v1/rsus/{rsu_id}",
        response_model=RsuOut,
        responses={**responses, 404: {"description": "unknown RSU"}},
    )
    def rsu(rsu_id: str, who: Viewer) -> RsuOut:
        view = service.twin.rsus.get(rsu_id)
        if view is None:
            raise HTTPException(404, f"no RSU {rsu_id!r}")
        return service.rsu_out(view)

    @app.get("/api/v1/intersections", response_model=list[IntersectionOut], responses=responses)
    def intersections(who: Viewer) -> list[IntersectionOut]:
        return service.intersections_out()

    @app.get(
        "/api/v1/intersections/{intersection_id}/signal",
        response_model=SignalOut,
        responses={**responses, 404: {"description": "no signal state for it"}},
    )
    def signal(intersection_id: str, who: Viewer) -> SignalOut:
        state = service.twin.signals.get(intersection_id)
        if state is None:
            raise HTTPException(404, f"no signal state for intersection {intersection_id!r}")
        return SignalOut(
            intersection_id=intersection_id,
            valid_at_ns=state.valid_at_ns,
            groups=[service.group_out(g) for g in state.groups],
        )

    @app.get("/api/v1/objects", response_model=list[ObjectOut], responses=responses)
    def objects(who: Viewer) -> list[ObjectOut]:
        return service.objects_out()

    @app.get("/api/v1/zones", response_model=list[ZoneOut], responses=responses)
    def zones(who: Viewer) -> list[ZoneOut]:
        return [zone_out(z) for _, z in sorted(service.zones.zones.items())]

    @app.get(
        "/api/v1/zones/{zone_id}",
        response_model=ZoneOut,
        responses={**responses, 404: {"description": "unknown zone"}},
    )
    def zone(zone_id: str, who: Viewer) -> ZoneOut:
        found = service.zones.zones.get(zone_id)
        if found is None:
            raise HTTPException(404, f"no zone {zone_id!r}")
        return zone_out(found)

    @app.post(
        "/api/v1/zones",
        response_model=ZoneOut,
        status_code=201,
        responses={**responses, 409: {"description": "the zone exists"}},
    )
    async def create_zone(body: ZoneCreate, who: Operator) -> ZoneOut:
        if body.zone_id in service.zones.zones:
            raise HTTPException(409, f"zone {body.zone_id!r} exists; PUT changes it")
        return zone_out(await service.put_zone(body.zone_id, body, who))

    @app.put(
        "/api/v1/zones/{zone_id}",
        response_model=ZoneOut,
        responses={
            **responses,
            404: {"description": "unknown zone"},
            422: {"description": "invalid"},
        },
    )
    async def update_zone(zone_id: str, body: ZoneIn, who: Operator) -> ZoneOut:
        if zone_id not in service.zones.zones:
            raise HTTPException(404, f"no zone {zone_id!r}; POST creates one")
        return zone_out(await service.put_zone(zone_id, body, who))

    @app.delete(
        "/api/v1/zones/{zone_id}",
        status_code=204,
        responses={**responses, 404: {"description": "unknown zone"}},
    )
    async def delete_zone(zone_id: str, who: Operator) -> None:
        if zone_id not in service.zones.zones:
            raise HTTPException(404, f"no zone {zone_id!r}")
        await service.delete_zone(zone_id, who)

    @app.get("/api/v1/events", response_model=EventPage, responses=responses)
    async def events(
        who: Viewer,
        since_ns: Annotated[int | None, Query(ge=0, le=2**62)] = None,
        until_ns: Annotated[int | None, Query(ge=0, le=2**62)] = None,
        kind: EventKindName | None = None,
        rsu_id: Annotated[str | None, Query(max_length=64)] = None,
        after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> EventPage:
        rows = await asyncio.to_thread(
            service.store.events,
            since_ns=since_ns,
            until_ns=until_ns,
            kind=EventKind[kind.upper()] if kind else None,
            rsu_id=rsu_id,
            after_id=after_id,
            limit=limit,
        )
        return EventPage(
            events=[EventOut(**r.__dict__) for r in rows],
            next_after_id=rows[-1].id if rows else after_id,
        )

    @app.get("/api/v1/metrics", response_model=dict[str, float], responses=responses)
    def metrics(who: Viewer) -> dict[str, float]:
        return service.metrics()

    @app.get("/api/v1/audit", response_model=list[dict[str, Any]], responses=responses)
    async def audit(
        who: Admin,
        after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(service.store.audit_log, limit, after_id)

    @app.get("/api/v1/whoami", response_model=Principal, responses=responses)
    def whoami(who: Viewer) -> Principal:
        return who

    @app.get("/api/v1/feed", responses=responses, response_class=StreamingResponse)
    async def feed(request: Request, who: Viewer) -> StreamingResponse:
        """Server-sent events: ``objects`` snapshots, ``rsu``, ``signal``, ``zone``, ``event``."""
        subscriber = service.feed.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 1000\n\n"
                yield service.snapshot_message()
                while not await request.is_disconnected():
                    try:
                        async with asyncio.timeout(5.0):
                            yield await subscriber.next()
                    except TimeoutError:
                        yield ": keep-alive\n\n"
            finally:
                service.feed.unsubscribe(subscriber)

        return StreamingResponse(stream(), media_type="text/event-stream")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC / "static"), name="static")
    return app
