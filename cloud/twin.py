"""The digital twin of the pilot zone: a live model built from what the RSUs send.

Pure and synchronous: every ``apply_*`` takes the current time as an argument and never reads a
clock or a socket (``cloud.ingest`` is the MQTT edge that feeds it). Objects that several RSUs
see are merged into one zone-wide picture: same reported vehicle id, or same kind of road user
within ``merge_radius_m`` of each other as seen by different RSUs.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np

from vicoop.cloudmodel import (
    ApproachMeasure,
    CommandAck,
    Event,
    Intersection,
    PerceptionSummary,
    RsuHealth,
    RsuStatus,
    SignalState,
    VehicleReport,
)
from vicoop.geodesy import TangentPlane, enu_to_geodetic, tangent_plane
from vicoop.intersection import IntersectionMap
from vicoop.model import NS_PER_S, GeodeticOrigin, ObjectClass, SensorStatus
from vicoop.spat import Spat

_PEOPLE = {int(ObjectClass.PEDESTRIAN), int(ObjectClass.BICYCLE), int(ObjectClass.ANIMAL)}


@dataclass
class RsuView:
    """An RSU as the twin sees it; ``online`` false after its last will or a long silence."""

    rsu_id: str
    health: RsuHealth
    online: bool
    origin: GeodeticOrigin
    coverage_radius_m: float
    intersections: tuple[Intersection, ...]
    sensors: tuple[SensorStatus, ...]
    last_seen_ns: int
    outbox_pending: int
    zone_versions: dict[str, int]


@dataclass(frozen=True, slots=True)
class LiveObject:
    """One road user in the zone-wide picture (WGS84 degrees, m/s, rad CCW from east, m)."""

    object_id: str
    object_class: ObjectClass
    latitude_deg: float
    longitude_deg: float
    speed_mps: float
    heading_rad: float
    length_m: float
    width_m: float
    vehicle_id: str
    seen_by: tuple[str, ...]
    valid_at_ns: int


@dataclass(frozen=True, slots=True)
class IntersectionView:
    intersection_id: str
    rsu_id: str
    latitude_deg: float
    longitude_deg: float


@dataclass
class _RsuObjects:
    valid_at_ns: int
    track_ids: np.ndarray  # type: ignore[type-arg]
    classes: np.ndarray  # type: ignore[type-arg]
    lat: np.ndarray  # type: ignore[type-arg]
    lon: np.ndarray  # type: ignore[type-arg]
    speed: np.ndarray  # type: ignore[type-arg]
    heading: np.ndarray  # type: ignore[type-arg]
    length: np.ndarray  # type: ignore[type-arg]
    width: np.ndarray  # type: ignore[type-arg]
    vehicle_ids: tuple[str, ...]


@dataclass
class _Cluster:
    object_id: str
    object_class: ObjectClass
    lats: list[float]
    lons: list[float]
    speed_mps: float
    heading_rad: float
    length_m: float
    width_m: float
    vehicle_id: str
    seen_by: list[str]
    person: bool
    valid_at_ns: int


@dataclass(frozen=True, slots=True)
class TwinLimits:
    """Caps on the twin's memory for ids a client chooses (``CloudConfig`` documents each).

    At a cap, what went stale is dropped first; a new id that still finds no room is refused and
    counted in ``TwinCounters.refused`` under the cap's name. Known ids keep working.
    """

    max_rsus: int = 1000
    max_objects_per_rsu: int = 1000
    max_signals: int = 5000
    max_measures: int = 20_000
    max_vehicle_reports: int = 10_000
    seen_window: int = 4096
    forget_offline_after_s: float = 3600.0
    vehicle_report_ttl_s: float = 30.0


@dataclass
class _Applied:
    """Outbox sequences of one RSU already applied: all at or below ``floor`` and ``recent``.

    An RSU's outbox numbers its messages in order, so a sequence more than ``seen_window / 2``
    applied messages older than the newest counts as applied (the window trims to its newer half).
    """

    floor: int = 0
    recent: set[int] = field(default_factory=set)

    def has(self, sequence: int) -> bool:
        return sequence <= self.floor or sequence in self.recent

    def add(self, sequence: int, window: int) -> None:
        if sequence <= self.floor:
            return
        self.recent.add(sequence)
        if len(self.recent) > window:
            ordered = sorted(self.recent)
            cut = len(ordered) - max(1, window // 2)
            self.floor = ordered[cut - 1]
            self.recent = set(ordered[cut:])


@dataclass
class TwinCounters:
    statuses: int = 0
    summaries: int = 0
    signals: int = 0
    spat: int = 0
    reports: int = 0
    events: int = 0
    acks: int = 0
    duplicates_discarded: int = 0
    went_offline: int = 0
    # RSUs offline longer than ``forget_offline_after_s``, dropped from memory.
    forgotten: int = 0
    # New ids (or objects) refused at a cap, by the cap's name (``TwinLimits`` field).
    refused: Counter[str] = field(default_factory=Counter)


@dataclass
class Twin:
    """The live zone. ``offline_after_s``: silence after which an RSU counts as offline;
    ``object_ttl_s``: age after which an RSU's objects leave the picture."""

    offline_after_s: float = 30.0
    object_ttl_s: float = 2.0
    merge_radius_m: float = 3.0
    recent_events: int = 500
    limits: TwinLimits = field(default_factory=TwinLimits)
    rsus: dict[str, RsuView] = field(default_factory=dict)
    signals: dict[str, SignalState] = field(default_factory=dict)
    measures: dict[tuple[str, str], ApproachMeasure] = field(default_factory=dict)
    # The latest report of each vehicle (newest ``max_vehicle_reports`` vehicles, none older
    # than ``vehicle_report_ttl_s``): the RSU it came through, the report, when it was applied.
    vehicle_reports: OrderedDict[str, tuple[str, VehicleReport, int]] = field(
        default_factory=OrderedDict
    )
    # Each RSU's intersections' latest SPaT and their MAP, by RSU id, then intersection id.
    spat: dict[str, dict[str, Spat]] = field(default_factory=dict)
    maps: dict[str, dict[str, IntersectionMap]] = field(default_factory=dict)
    events: deque[tuple[str, int, Event]] = field(default_factory=deque)
    counters: TwinCounters = field(default_factory=TwinCounters)
    _objects: dict[str, _RsuObjects] = field(default_factory=dict)
    _measure_rsu: dict[tuple[str, str], str] = field(default_factory=dict)
    _seen: dict[str, _Applied] = field(default_factory=dict)

    def _refuse(self, cap: str, n: int = 1) -> None:
        self.counters.refused[cap] += n

    def _online(self, rsu_id: str) -> bool:
        view = self.rsus.get(rsu_id)
        return view is not None and view.online

    # ingest ------------------------------------------------------------------------------------

    def apply_status(self, status: RsuStatus, now_ns: int) -> bool:
        """Record an RSU's status; True when its online state or health changed."""
        self.counters.statuses += 1
        online = status.health is not RsuHealth.OFFLINE
        old = self.rsus.get(status.rsu_id)
        if old is None and len(self.rsus) >= self.limits.max_rsus:
            self._refuse("max_rsus")
            return False
        self.rsus[status.rsu_id] = RsuView(
            rsu_id=status.rsu_id,
            health=status.health,
            online=online,
            origin=status.origin,
            coverage_radius_m=status.coverage_radius_m,
            intersections=status.intersections,
            sensors=status.sensors,
            last_seen_ns=now_ns if online else (old.last_seen_ns if old else status.sent_at_ns),
            outbox_pending=status.outbox_pending,
            zone_versions=dict(status.zone_versions),
        )
        if not online:
            self._objects.pop(status.rsu_id, None)
        return old is None or old.online != online or old.health != status.health

    def _touch(self, rsu_id: str, now_ns: int) -> None:
        view = self.rsus.get(rsu_id)
        if view is not None and view.online:
            view.last_seen_ns = now_ns

    def apply_summary(self, summary: PerceptionSummary, now_ns: int) -> None:
        self.counters.summaries += 1
        self._touch(summary.rsu_id, now_ns)
        if summary.rsu_id not in self._objects and len(self._objects) >= self.limits.max_rsus:
            self._refuse("max_rsus")
            return
        self._apply_measures(summary.rsu_id, summary.measures)
        objs = summary.objects
        if len(objs) > self.limits.max_objects_per_rsu:
            self._refuse("max_objects_per_rsu", len(objs) - self.limits.max_objects_per_rsu)
            objs = objs[: self.limits.max_objects_per_rsu]
        o = summary.origin
        n = len(objs)
        pos = np.array([ob.position for ob in objs], dtype=np.float64).reshape(n, 3)
        vel = np.array([ob.velocity for ob in objs], dtype=np.float64).reshape(n, 3)
        # First order (vicoop.geodesy.TangentPlane): under 3 cm of the exact conversion within
        # 500 m of an origin at 51 degrees, at a few microseconds per summary.
        lat, lon = tangent_plane(o).to_lat_lon(pos[:, 0], pos[:, 1])
        self._objects[summary.rsu_id] = _RsuObjects(
            valid_at_ns=summary.valid_at_ns,
            track_ids=np.array([ob.track_id for ob in objs], dtype=np.uint64),
            classes=np.array([int(ob.object_class) for ob in objs], dtype=np.int64),
            lat=np.atleast_1d(lat),
            lon=np.atleast_1d(lon),
            speed=np.hypot(vel[:, 0], vel[:, 1]),
            heading=np.array([ob.heading_rad for ob in objs], dtype=np.float64),
            length=np.array([ob.size[0] for ob in objs], dtype=np.float64),
            width=np.array([ob.size[1] for ob in objs], dtype=np.float64),
            vehicle_ids=tuple(ob.vehicle_id for ob in objs),
        )

    def _apply_measures(self, rsu_id: str, measures: tuple[ApproachMeasure, ...]) -> None:
        for m in measures:
            key = (m.intersection_id, m.approach)
            if key not in self.measures and len(self.measures) >= self.limits.max_measures:
                for stale in [k for k, r in self._measure_rsu.items() if not self._online(r)]:
                    self.measures.pop(stale)
                    self._measure_rsu.pop(stale)
                if len(self.measures) >= self.limits.max_measures:
                    self._refuse("max_measures")
                    continue
            self.measures[key] = m
            self._measure_rsu[key] = rsu_id

    def apply_signal(self, state: SignalState, now_ns: int) -> None:
        """An intersection's signal state; refused (``signal_owner``) when another RSU, still
        online, holds that intersection: one RSU cannot overwrite another's lights."""
        self.counters.signals += 1
        self._touch(state.rsu_id, now_ns)
        key = state.intersection_id
        held = self.signals.get(key)
        if held is not None and held.rsu_id != state.rsu_id and self._online(held.rsu_id):
            self._refuse("signal_owner")
            return
        if key not in self.signals and len(self.signals) >= self.limits.max_signals:
            for stale in [k for k, s in self.signals.items() if not self._online(s.rsu_id)]:
                del self.signals[stale]
            if len(self.signals) >= self.limits.max_signals:
                self._refuse("max_signals")
                return
        self.signals[key] = state

    def apply_spat(self, rsu_id: str, spats: list[Spat], now_ns: int) -> None:
        """``rsu_id``'s intersections' SPaT now (each replaces that intersection's last)."""
        self.counters.spat += 1
        self._touch(rsu_id, now_ns)
        if rsu_id not in self.spat and len(self.spat) >= self.limits.max_rsus:
            self._refuse("max_rsus")
            return
        self.spat.setdefault(rsu_id, {}).update((s.intersection_id, s) for s in spats)

    def apply_map(self, rsu_id: str, maps: list[IntersectionMap], now_ns: int) -> None:
        """``rsu_id``'s intersections' MAP (the whole set: intersections not in it go)."""
        self._touch(rsu_id, now_ns)
        if rsu_id not in self.maps and len(self.maps) >= self.limits.max_rsus:
            self._refuse("max_rsus")
            return
        self.maps[rsu_id] = {m.intersection_id: m for m in maps}

    def apply_reports(self, rsu_id: str, reports: list[VehicleReport], now_ns: int) -> None:
        self.counters.reports += len(reports)
        self._touch(rsu_id, now_ns)
        for report in reports:
            self.vehicle_reports[report.vehicle_id] = (rsu_id, report, now_ns)
            self.vehicle_reports.move_to_end(report.vehicle_id)
        while len(self.vehicle_reports) > self.limits.max_vehicle_reports:
            self.vehicle_reports.popitem(last=False)

    def is_new(self, rsu_id: str, sequence: int) -> bool:
        """Whether outbox message ``sequence`` of ``rsu_id`` has not been applied yet."""
        applied = self._seen.get(rsu_id)
        return applied is None or not applied.has(sequence)

    def _mark(self, rsu_id: str, sequence: int) -> None:
        applied = self._seen.get(rsu_id)
        if applied is None:
            if len(self._seen) >= self.limits.max_rsus:
                # Room from an RSU the twin does not hold (forgotten or refused), else the oldest.
                gone = next((r for r in self._seen if r not in self.rsus), next(iter(self._seen)))
                del self._seen[gone]
            applied = self._seen[rsu_id] = _Applied()
        applied.add(sequence, self.limits.seen_window)

    def seen_size(self) -> int:
        """How many outbox sequences the dedup memory holds, over every RSU."""
        return sum(len(a.recent) for a in self._seen.values())

    def remember(self, keys: list[tuple[str, int]]) -> None:
        """Mark outbox messages as applied (at start, from the store's newest ``seen_window``
        sequences of each RSU): when an RSU has that many, everything older counts as applied."""
        by_rsu: dict[str, list[int]] = {}
        for rsu_id, sequence in keys:
            by_rsu.setdefault(rsu_id, []).append(sequence)
        for rsu_id, sequences in by_rsu.items():
            for sequence in sequences:
                self._mark(rsu_id, sequence)
            if len(sequences) >= self.limits.seen_window:
                applied = self._seen[rsu_id]
                applied.floor = max(applied.floor, min(sequences) - 1)

    def apply_event(self, rsu_id: str, sequence: int, event: Event, now_ns: int) -> bool:
        """Apply an event once; False (and counted) for a duplicate."""
        if not self.is_new(rsu_id, sequence):
            self.counters.duplicates_discarded += 1
            return False
        self._mark(rsu_id, sequence)
        self.counters.events += 1
        self._touch(rsu_id, now_ns)
        self.events.append((rsu_id, sequence, event))
        while len(self.events) > self.recent_events:
            self.events.popleft()
        return True

    def apply_ack(self, rsu_id: str, sequence: int, ack: CommandAck, now_ns: int) -> bool:
        """Apply an acknowledgement once; False (and counted) for a duplicate."""
        if not self.is_new(rsu_id, sequence):
            self.counters.duplicates_discarded += 1
            return False
        self._mark(rsu_id, sequence)
        self.counters.acks += 1
        self._touch(rsu_id, now_ns)
        return True

    def expire(self, now_ns: int) -> list[str]:
        """Mark RSUs silent for ``offline_after_s`` offline (returns their ids), forget RSUs
        offline for ``forget_offline_after_s`` with their signals and measures, and drop frames
        older than ``object_ttl_s`` and vehicle reports older than ``vehicle_report_ttl_s``."""
        limit = now_ns - int(self.offline_after_s * NS_PER_S)
        forget_before = now_ns - int(self.limits.forget_offline_after_s * NS_PER_S)
        gone = []
        forgotten = []
        for view in self.rsus.values():
            if view.online and view.last_seen_ns < limit:
                view.online = False
                view.health = RsuHealth.OFFLINE
                self._objects.pop(view.rsu_id, None)
                gone.append(view.rsu_id)
            elif not view.online and view.last_seen_ns < forget_before:
                forgotten.append(view.rsu_id)
        for rsu_id in forgotten:
            self._forget(rsu_id)
        stale_before = now_ns - int(self.object_ttl_s * NS_PER_S)
        for rsu_id in [r for r, o in self._objects.items() if o.valid_at_ns < stale_before]:
            del self._objects[rsu_id]
        # Oldest first (a report moves to the end when its vehicle reports again).
        reports_before = now_ns - int(self.limits.vehicle_report_ttl_s * NS_PER_S)
        while self.vehicle_reports:
            vehicle_id, (_, _, applied_ns) = next(iter(self.vehicle_reports.items()))
            if applied_ns >= reports_before:
                break
            del self.vehicle_reports[vehicle_id]
        self.counters.went_offline += len(gone)
        self.counters.forgotten += len(forgotten)
        return gone

    def _forget(self, rsu_id: str) -> None:
        del self.rsus[rsu_id]
        self._objects.pop(rsu_id, None)
        for intersection_id in [k for k, s in self.signals.items() if s.rsu_id == rsu_id]:
            del self.signals[intersection_id]
        for approach in [k for k, r in self._measure_rsu.items() if r == rsu_id]:
            del self.measures[approach], self._measure_rsu[approach]
        for vehicle_id in [v for v, r in self.vehicle_reports.items() if r[0] == rsu_id]:
            del self.vehicle_reports[vehicle_id]
        self.spat.pop(rsu_id, None)
        self.maps.pop(rsu_id, None)

    def object_sources(self) -> int:
        """How many RSUs' frames the twin holds."""
        return len(self._objects)

    # views -------------------------------------------------------------------------------------

    def intersections(self) -> list[IntersectionView]:
        out = []
        for view in sorted(self.rsus.values(), key=lambda v: v.rsu_id):
            for i in view.intersections:
                lat, lon, _ = enu_to_geodetic([i.center_x_m, i.center_y_m, 0.0], view.origin)[0]
                out.append(IntersectionView(i.intersection_id, view.rsu_id, float(lat), float(lon)))
        return out

    def objects(self, now_ns: int) -> list[LiveObject]:
        """The zone-wide picture: every fresh object, each road user once."""
        fresh_after = now_ns - int(self.object_ttl_s * NS_PER_S)
        parts = [
            (r, o)
            for r, o in sorted(self._objects.items())
            if o.valid_at_ns >= fresh_after and len(o.lat)
        ]
        if not parts:
            return []
        # Distances for merging, in metres in the tangent plane at the objects' mean position.
        plane = TangentPlane.at(
            GeodeticOrigin(
                float(np.mean(np.concatenate([o.lat for _, o in parts]))),
                float(np.mean(np.concatenate([o.lon for _, o in parts]))),
            )
        )
        merged: list[_Cluster] = []
        cx: list[float] = []
        cy: list[float] = []
        by_vehicle: dict[str, int] = {}
        for rsu_id, o in parts:
            xs, ys = plane.to_east_north(o.lat, o.lon)
            for i in range(len(o.track_ids)):
                vid = o.vehicle_ids[i]
                person = int(o.classes[i]) in _PEOPLE
                match = by_vehicle.get(vid) if vid else None
                if match is None and cx:
                    d2 = (np.asarray(cx) - xs[i]) ** 2 + (np.asarray(cy) - ys[i]) ** 2
                    for j in np.argsort(d2)[:4].tolist():
                        if d2[j] > self.merge_radius_m**2:
                            break
                        if rsu_id not in merged[j].seen_by and merged[j].person == person:
                            match = j
                            break
                if match is None:
                    if vid:
                        by_vehicle[vid] = len(merged)
                    merged.append(
                        _Cluster(
                            object_id=f"{rsu_id}:{int(o.track_ids[i])}",
                            object_class=ObjectClass(int(o.classes[i])),
                            lats=[float(o.lat[i])],
                            lons=[float(o.lon[i])],
                            speed_mps=float(o.speed[i]),
                            heading_rad=float(o.heading[i]),
                            length_m=float(o.length[i]),
                            width_m=float(o.width[i]),
                            vehicle_id=vid,
                            seen_by=[rsu_id],
                            person=person,
                            valid_at_ns=o.valid_at_ns,
                        )
                    )
                    cx.append(float(xs[i]))
                    cy.append(float(ys[i]))
                else:
                    m = merged[match]
                    m.lats.append(float(o.lat[i]))
                    m.lons.append(float(o.lon[i]))
                    m.seen_by.append(rsu_id)
                    if vid and not m.vehicle_id:
                        m.vehicle_id = vid
                        by_vehicle[vid] = match
        return [
            LiveObject(
                object_id=m.vehicle_id or m.object_id,
                object_class=m.object_class,
                latitude_deg=sum(m.lats) / len(m.lats),
                longitude_deg=sum(m.lons) / len(m.lons),
                speed_mps=m.speed_mps,
                heading_rad=m.heading_rad,
                length_m=m.length_m,
                width_m=m.width_m,
                vehicle_id=m.vehicle_id,
                seen_by=tuple(m.seen_by),
                valid_at_ns=m.valid_at_ns,
            )
            for m in merged
        ]
