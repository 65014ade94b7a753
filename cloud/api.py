"""The control API (FastAPI; OpenAPI at ``/openapi.json``) and the dashboard's static files.

Bearer-token authentication with three roles: ``viewer`` reads, ``operator`` also changes zones,
``admin`` also reads the audit log. Every change is audit-logged with who and when. Request
bodies are validated by the pydantic models of ``cloud.schemas``: a bad one gets 422 naming the
field (``loc``). The cloud's errors become HTTP codes here: ``NotFound`` 404, ``Conflict`` 409.
"""

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from cloud.auth import FailureLimit, FeedTokens, Holder, Role, TokenBook
from cloud.errors import Conflict, NotFound
from cloud.feed import Feed
from cloud.guard import ApiGuard
from cloud.ingest import TwinIngest
from cloud.leader import Leadership
from cloud.metrics import TwinMetrics
from cloud.schemas import (
    AlarmOut,
    AlarmPage,
    CredentialIn,
    CredentialOut,
    EventKindName,
    EventOut,
    EventPage,
    FeedTokenOut,
    IntersectionMapOut,
    IntersectionOut,
    IntersectionSpatOut,
    ObjectOut,
    Principal,
    RsuOut,
    SignalOut,
    VehicleOut,
    ZoneCreate,
    ZoneIn,
    ZoneOut,
    group_out,
    intersections_out,
    maps_out,
    objects_out,
    rsu_out,
    spat_out,
    vehicles_out,
    zone_out,
)
from cloud.snapshots import Snapshots
from cloud.store import AuditEntry, Store
from cloud.twin import Twin
from cloud.zone_edits import ZoneEditor
from cloud.zones import ZoneManager
from vicoop.cloudmodel import EventKind
from vicoop.signing import CommandSigner, VehicleCredential, issue_credential

STATIC = Path(__file__).resolve().parent / "dashboard"
RANK = {"viewer": 0, "operator": 1, "admin": 2}


def metrics_of(
    twin: Twin,
    zones: ZoneManager,
    ingest: TwinIngest,
    feed: Feed,
    snapshots: Snapshots,
    leadership: Leadership | None,
) -> dict[str, float]:
    """``/api/v1/metrics``: counts since start, the largest ingest lag (publish -> applied,
    ms) of the latest 1000 summaries, and whether this worker is the leader (1) or not (0)."""
    c = twin.counters
    session = ingest.session.stats
    recent = list(itertools.islice(reversed(ingest.lag_ns), 1000))
    return {
        "rsus_online": sum(1 for r in twin.rsus.values() if r.online),
        "rsus_known": len(twin.rsus),
        "messages_ingested": session.messages,
        "statuses": c.statuses,
        "summaries": c.summaries,
        "signals": c.signals,
        "vehicle_reports": c.reports,
        "events": c.events,
        "acks": c.acks,
        "duplicates_discarded": c.duplicates_discarded,
        "malformed_messages": session.malformed,
        "commands_pending": len(zones.pending()),
        "commands_sent": ingest.commands_sent,
        "leader": float(leadership is None or leadership.leader),
        "feed_subscribers": len(feed.subscribers),
        "ingest_lag_ms_max_recent": (max(recent) / 1e6) if recent else 0.0,
        "ingest_handler_errors": session.handler_errors,
        "feed_errors": snapshots.errors,
    }


def create_app(
    *,
    tokens: TokenBook,
    feed_tokens: FeedTokens,
    failures: FailureLimit,
    max_body_bytes: int,
    signer: CommandSigner,
    twin: Twin,
    zone_manager: ZoneManager,
    editor: ZoneEditor,
    store: Store,
    live_feed: Feed,
    snapshots: Snapshots,
    ingest: TwinIngest,
    clock: Callable[[], int],
    prometheus: TwinMetrics | None = None,
    leadership: Leadership | None = None,
) -> FastAPI:
    """The API over the cloud's parts, behind ``cloud.guard.ApiGuard`` (``tokens``,
    ``feed_tokens``, ``failures``, ``max_body_bytes``: authentication before any body is
    read). With ``prometheus``, ``GET /metrics`` serves it (viewer token) and every request
    is timed."""
    app = FastAPI(
        title="vicoop cloud twin",
        version="1",
        description="Control API of the pilot zone's digital twin. Bearer tokens; roles "
        "viewer < operator < admin.",
        max_body_size=max_body_bytes,
    )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 404)

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 409)

    def principal(request: Request) -> Principal:
        # ApiGuard authenticated the caller before the body was read (see cloud.guard).
        holder: Holder | None = getattr(request.state, "holder", None)
        if holder is None:  # a route outside the guarded paths asked for a principal
            raise HTTPException(
                401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        return Principal(name=holder.name, role=holder.role, client=request.state.client)

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
        return [rsu_out(v) for v in sorted(twin.rsus.values(), key=lambda v: v.rsu_id)]

    @app.get(
        "/api/v1/rsus/{rsu_id}",
        response_model=RsuOut,
        responses={**responses, 404: {"description": "unknown RSU"}},
    )
    def rsu(rsu_id: str, who: Viewer) -> RsuOut:
        view = twin.rsus.get(rsu_id)
        if view is None:
            raise HTTPException(404, f"no RSU {rsu_id!r}")
        return rsu_out(view)

    @app.get("/api/v1/vehicles", response_model=list[VehicleOut], responses=responses)
    def vehicles(who: Viewer) -> list[VehicleOut]:
        """Connected vehicles: each one's latest self-report through an RSU, by vehicle id
        (a vehicle silent for ``vehicle_report_ttl_s`` has left the list)."""
        return vehicles_out(twin)

    @app.get("/api/v1/intersections", response_model=list[IntersectionOut], responses=responses)
    def intersections(who: Viewer) -> list[IntersectionOut]:
        return intersections_out(twin)

    @app.get("/api/v1/spat", response_model=list[IntersectionSpatOut], responses=responses)
    def spat(who: Viewer) -> list[IntersectionSpatOut]:
        """Every intersection's latest SPaT as its RSU sent it (J2735 states; end times in ns
        since the Unix epoch, None when not known)."""
        return spat_out(twin)

    @app.get("/api/v1/maps", response_model=list[IntersectionMapOut], responses=responses)
    def maps(who: Viewer) -> list[IntersectionMapOut]:
        """Every intersection's MAP (lanes, stop lines with their signal groups, connections,
        conflicts, crosswalks) in WGS84."""
        return maps_out(twin)

    @app.get(
        "/api/v1/intersections/{intersection_id}/signal",
        response_model=SignalOut,
        responses={**responses, 404: {"description": "no signal state for it"}},
    )
    def signal(intersection_id: str, who: Viewer) -> SignalOut:
        state = twin.signals.get(intersection_id)
        if state is None:
            raise HTTPException(404, f"no signal state for intersection {intersection_id!r}")
        return SignalOut(
            intersection_id=intersection_id,
            valid_at_ns=state.valid_at_ns,
            groups=[group_out(g) for g in state.groups],
        )

    @app.get("/api/v1/objects", response_model=list[ObjectOut], responses=responses)
    def objects(who: Viewer) -> list[ObjectOut]:
        return objects_out(twin, clock())

    @app.get("/api/v1/zones", response_model=list[ZoneOut], responses=responses)
    def zones(who: Viewer) -> list[ZoneOut]:
        return [zone_out(z) for _, z in sorted(zone_manager.zones.items())]

    @app.get(
        "/api/v1/zones/{zone_id}",
        response_model=ZoneOut,
        responses={**responses, 404: {"description": "unknown zone"}},
    )
    def zone(zone_id: str, who: Viewer) -> ZoneOut:
        found = zone_manager.zones.get(zone_id)
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
        return zone_out(await editor.create(body.zone_id, body, who))

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
        return zone_out(await editor.update(zone_id, body, who))

    @app.delete(
        "/api/v1/zones/{zone_id}",
        status_code=204,
        responses={**responses, 404: {"description": "unknown zone"}},
    )
    async def delete_zone(zone_id: str, who: Operator) -> None:
        await editor.delete(zone_id, who)

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
            store.events,
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

    @app.get("/api/v1/alarms", response_model=AlarmPage, responses=responses)
    async def alarms(
        who: Viewer,
        source: Annotated[str | None, Query(max_length=96)] = None,
        after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> AlarmPage:
        """Supervised tasks that failed or ended (the twin's and the RSUs'), oldest first."""
        rows = await asyncio.to_thread(store.alarms, source=source, after_id=after_id, limit=limit)
        return AlarmPage(
            alarms=[AlarmOut(**r.__dict__) for r in rows],
            next_after_id=rows[-1].id if rows else after_id,
        )

    @app.get("/api/v1/metrics", response_model=dict[str, float], responses=responses)
    def metrics(who: Viewer) -> dict[str, float]:
        return metrics_of(twin, zone_manager, ingest, live_feed, snapshots, leadership)

    if prometheus is not None:
        app.middleware("http")(prometheus.middleware)

        @app.get("/metrics", include_in_schema=False)
        def prometheus_metrics(who: Viewer) -> Response:
            return Response(generate_latest(prometheus.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/audit", response_model=list[dict[str, Any]], responses=responses)
    async def audit(
        who: Admin,
        after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(store.audit_log, limit, after_id)

    @app.get("/api/v1/whoami", response_model=Principal, responses=responses)
    def whoami(who: Viewer) -> Principal:
        return who

    @app.post(
        "/api/v1/vehicle-credentials",
        response_model=CredentialOut,
        status_code=201,
        responses=responses,
    )
    async def vehicle_credential(body: CredentialIn, who: Operator) -> CredentialOut:
        """A credential for a connected vehicle, signed by the twin's key: the vehicle id
        the RSUs will take its reports under and the permits they will believe it holds,
        until ``expires_at_ns`` (audit-logged)."""
        now = clock()
        credential = VehicleCredential(
            body.vehicle_id, tuple(body.permits), now + int(body.ttl_s * 1e9)
        )
        token = issue_credential(signer, credential)
        entry = AuditEntry(
            now,
            who.name,
            who.role,
            who.client[:64],
            "vehicle_credential.issue",
            body.vehicle_id,
            {"permits": body.permits, "expires_at_ns": credential.expires_at_ns},
        )
        await asyncio.to_thread(store.add_audit, entry)
        return CredentialOut(
            credential=token,
            vehicle_id=body.vehicle_id,
            permits=body.permits,
            expires_at_ns=credential.expires_at_ns,
        )

    @app.post("/api/v1/feed-token", response_model=FeedTokenOut, responses=responses)
    def feed_token(who: Viewer) -> FeedTokenOut:
        """A short-lived token for ``GET /api/v1/feed?feed_token=...`` (an ``EventSource``
        cannot send an ``Authorization`` header); the feed takes no other query token."""
        token, expires = feed_tokens.issue(Holder(who.name, who.role), clock())
        return FeedTokenOut(feed_token=token, expires_at_ns=expires)

    @app.get("/api/v1/feed", responses=responses, response_class=StreamingResponse)
    async def feed(request: Request, who: Viewer) -> StreamingResponse:
        """Server-sent events: ``snapshot`` (the twin as the dashboard draws it, SPaT included),
        ``rsu``, ``signal``, ``map``, ``zone``, ``event``, ``alarm``."""
        subscriber = live_feed.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 1000\n\n"
                yield snapshots.message()
                while not await request.is_disconnected():
                    try:
                        async with asyncio.timeout(5.0):
                            yield await subscriber.next()
                    except TimeoutError:
                        yield ": keep-alive\n\n"
            finally:
                live_feed.unsubscribe(subscriber)

        return StreamingResponse(stream(), media_type="text/event-stream")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC / "static"), name="static")
    app.add_middleware(
        ApiGuard,
        tokens=tokens,
        feed_tokens=feed_tokens,
        failures=failures,
        clock=clock,
    )
    return app
