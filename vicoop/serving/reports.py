"""Connected vehicles' reports of their own state: plausibility, id ownership and association
with the RSU's tracks. Pure and synchronous: every call takes the time as ``now_ns``.

A report stream (one ``ReportVehicleState`` call, named by a ``reporter`` key the server picks)
speaks for one vehicle: the first id it reports successfully is bound to it. A report is rejected,
with a reason naming the field, when

- it is stale or from the future (``measured_at_ns`` more than ``max_age_s`` before or
  ``max_future_s`` after ``now_ns``), or not newer than the vehicle's last accepted report;
- it is implausible: a speed above ``max_speed_mps``, a position farther than
  ``max_distance_m`` from the RSU, or a jump from the vehicle's last accepted position that no
  vehicle could drive (more than ``max_speed_mps`` times the time between plus
  ``jump_margin_m``);
- its id is held by another live reporter (one that reported within ``id_hold_s`` and has not
  closed its stream), or the stream already speaks for another vehicle.

Accepted reports are matched to tracks by a gated assignment (Hungarian) on the distance between
each report, predicted to the frame's time with its own speed and heading, and each track's
centre; only compatible classes match (the same class, two kinds of motor vehicle, or an
unknown class on either side). The matched track carries the report's ``vehicle_id``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from vicoop.cloudmodel import VehicleReport
from vicoop.geodesy import geodetic_to_enu
from vicoop.model import NS_PER_S, DetectedObject, GeodeticOrigin, ObjectClass

_MOTOR_VEHICLES = frozenset(
    {ObjectClass.CAR, ObjectClass.VAN, ObjectClass.TRUCK, ObjectClass.BUS, ObjectClass.MOTORCYCLE}
)
_ANY = frozenset({ObjectClass.UNSPECIFIED, ObjectClass.UNKNOWN})
_UNASSIGNED = 1e9


def classes_compatible(reported: ObjectClass, tracked: ObjectClass) -> bool:
    """Whether a vehicle reporting ``reported`` may be the track of class ``tracked``."""
    if reported == tracked or reported in _ANY or tracked in _ANY:
        return True
    return reported in _MOTOR_VEHICLES and tracked in _MOTOR_VEHICLES


@dataclass(frozen=True, slots=True)
class ReportLimits:
    """What the RSU accepts from vehicles; distances in metres, speeds m/s, times seconds."""

    max_speed_mps: float = 70.0
    jump_margin_m: float = 10.0
    max_distance_m: float = 1000.0
    max_age_s: float = 2.0
    max_future_s: float = 0.5
    # A reporter silent this long loses its vehicle id (another stream may then claim it).
    id_hold_s: float = 10.0
    # Reports older than this are not associated with tracks any more.
    associate_for_s: float = 1.0
    # Largest distance between a predicted report and a track's centre that may match.
    gate_m: float = 5.0


@dataclass(slots=True)
class ReportStats:
    """Counts since start; ``rejected`` by reason kind (``speed``, ``jump``, ``id_claimed`` ...)."""

    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    associated: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class ReportRejected(ValueError):
    """A report was not accepted; ``kind`` is a short reason key, the message says why."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(slots=True)
class _Vehicle:
    report: VehicleReport
    x_m: float
    y_m: float
    reporter: object
    last_heard_ns: int


class ReportBook:
    """Vehicles' latest accepted reports in the RSU's ENU frame, by vehicle id."""

    def __init__(self, origin: GeodeticOrigin, limits: ReportLimits | None = None) -> None:
        self.origin = origin
        self.limits = limits or ReportLimits()
        self.stats = ReportStats()
        self._vehicles: dict[str, _Vehicle] = {}
        self._bound: dict[object, str] = {}  # reporter -> the vehicle id it speaks for
        self._closed: set[object] = set()
        self._last_track: dict[str, int] = {}  # vehicle id -> the track it matched last

    def enu(self, latitude_deg: float, longitude_deg: float) -> tuple[float, float]:
        """A WGS84 point (on the origin's height) in metres in the RSU's ENU frame."""
        enu = geodetic_to_enu([(latitude_deg, longitude_deg)], self.origin)
        return float(enu[0, 0]), float(enu[0, 1])

    def reject(self, kind: str) -> None:
        """Count a rejection decided elsewhere (a malformed message)."""
        self.stats.rejected[kind] += 1

    def submit(self, report: VehicleReport, reporter: object, now_ns: int) -> None:
        """Accept ``report`` from ``reporter`` or raise ``ReportRejected`` (counted either way)."""
        try:
            self._check(report, reporter, now_ns)
        except ReportRejected as exc:
            self.stats.rejected[exc.kind] += 1
            raise
        self.stats.accepted += 1

    def _check(self, report: VehicleReport, reporter: object, now_ns: int) -> None:
        lim = self.limits
        vid = report.vehicle_id
        bound = self._bound.get(reporter)
        if bound is not None and bound != vid:
            raise ReportRejected(
                "id_changed",
                f"vehicle_id {vid!r}: this stream already reports for {bound!r}",
            )
        held = self._vehicles.get(vid)
        if held is not None and held.reporter != reporter and self._live(held, now_ns):
            raise ReportRejected(
                "id_claimed", f"vehicle_id {vid!r} is reported by another live stream"
            )
        age_s = (now_ns - report.measured_at_ns) / NS_PER_S
        if age_s > lim.max_age_s or -age_s > lim.max_future_s:
            raise ReportRejected(
                "time",
                f"measured_at_ns is {age_s:+.3f} s from the RSU's clock "
                f"(allowed -{lim.max_future_s:g} to +{lim.max_age_s:g} s)",
            )
        if report.speed_mps > lim.max_speed_mps:
            raise ReportRejected(
                "speed",
                f"speed_mps {report.speed_mps:g} is above the plausible {lim.max_speed_mps:g}",
            )
        x, y = self.enu(report.latitude_deg, report.longitude_deg)
        distance = math.hypot(x, y)
        if distance > lim.max_distance_m:
            raise ReportRejected(
                "distance",
                f"position is {distance:.0f} m from the RSU (at most {lim.max_distance_m:g} m)",
            )
        if held is not None and held.reporter == reporter:
            dt_s = (report.measured_at_ns - held.report.measured_at_ns) / NS_PER_S
            if dt_s <= 0:
                raise ReportRejected(
                    "time", "measured_at_ns is not after the vehicle's previous report"
                )
            jump = math.hypot(x - held.x_m, y - held.y_m)
            if jump > lim.max_speed_mps * dt_s + lim.jump_margin_m:
                raise ReportRejected(
                    "jump", f"position jumped {jump:.0f} m in {dt_s:.3f} s since the last report"
                )
        if held is not None and held.reporter != reporter:
            self._bound.pop(held.reporter, None)
        self._vehicles[vid] = _Vehicle(report, x, y, reporter, now_ns)
        self._bound[reporter] = vid

    def _live(self, vehicle: _Vehicle, now_ns: int) -> bool:
        return (
            vehicle.reporter not in self._closed
            and now_ns - vehicle.last_heard_ns <= self.limits.id_hold_s * NS_PER_S
        )

    def release(self, reporter: object) -> None:
        """``reporter``'s stream has ended: its vehicle id is free for another stream."""
        vid = self._bound.pop(reporter, None)
        if vid is not None and vid in self._vehicles:
            self._closed.add(reporter)

    def forget(self, now_ns: int) -> None:
        """Drop vehicles not heard from for ``id_hold_s``."""
        hold_ns = self.limits.id_hold_s * NS_PER_S
        for vid, v in list(self._vehicles.items()):
            if now_ns - v.last_heard_ns > hold_ns:
                del self._vehicles[vid]
                self._last_track.pop(vid, None)
                self._closed.discard(v.reporter)
                if self._bound.get(v.reporter) == vid:
                    del self._bound[v.reporter]

    def permits(self) -> dict[str, str]:
        """The automated-driving permit each vehicle held last reported ("" when driving
        manually), by vehicle id."""
        return {vid: v.report.permit_id for vid, v in self._vehicles.items()}

    def associate(
        self, objects: tuple[DetectedObject, ...], now_ns: int
    ) -> tuple[DetectedObject, ...]:
        """``objects`` with ``vehicle_id`` set on the tracks matched by a recent report."""
        self.forget(now_ns)
        fresh_ns = self.limits.associate_for_s * NS_PER_S
        live = [
            (vid, v)
            for vid, v in self._vehicles.items()
            if now_ns - v.report.measured_at_ns <= fresh_ns
        ]
        if not live or not objects:
            return objects
        dt = np.array([(now_ns - v.report.measured_at_ns) / NS_PER_S for _, v in live])
        speed = np.array([v.report.speed_mps for _, v in live])
        heading = np.array([v.report.heading_rad for _, v in live])
        rx = np.array([v.x_m for _, v in live]) + speed * np.cos(heading) * dt
        ry = np.array([v.y_m for _, v in live]) + speed * np.sin(heading) * dt
        ox = np.array([o.position.x for o in objects])
        oy = np.array([o.position.y for o in objects])
        cost = np.hypot(rx[:, None] - ox[None, :], ry[:, None] - oy[None, :])
        compatible = np.array(
            [
                [classes_compatible(v.report.vehicle_class, o.object_class) for o in objects]
                for _, v in live
            ]
        )
        gated = compatible & (cost <= self.limits.gate_m)
        # Keeping last frame's match is worth a metre: two close tracks do not swap ids.
        ids = np.array([o.track_id for o in objects])
        for r, (vid, _) in enumerate(live):
            last = self._last_track.get(vid)
            if last is not None:
                cost[r, ids == last] -= 1.0
        cost = np.where(gated, cost, _UNASSIGNED)
        rows, cols = linear_sum_assignment(cost)
        out = list(objects)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if not gated[r, c]:
                continue
            vid = live[r][0]
            out[c] = replace(out[c], vehicle_id=vid)
            self._last_track[vid] = out[c].track_id
            self.stats.associated += 1
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Notice:
    """A rejection worth an event; ``suppressed`` rejections of the same reason were not
    announced since the last event of that reason (the budget was spent)."""

    suppressed: int = 0


class RejectionNotices:
    """Which rejections are worth an event for the operators.

    Vehicle ids are chosen by the sender, so the limit cannot rest on them alone: within every
    ``every_s`` window, each reason gets at most ``per_kind`` events (and each (vehicle id,
    reason) at most one); beyond that rejections are only counted, and the next event of that
    reason carries the count. Memory is bounded by ``remember`` (vehicle id, reason) keys.
    """

    def __init__(self, every_s: float = 60.0, per_kind: int = 10, remember: int = 10_000) -> None:
        self.every_ns = round(every_s * NS_PER_S)
        self.per_kind = per_kind
        self.remember = remember
        self._last: dict[tuple[str, str], int] = {}
        self._window: dict[str, tuple[int, int]] = {}  # reason -> (window start, events in it)
        self._suppressed: dict[str, int] = {}

    def due(self, vehicle_id: str, kind: str, now_ns: int) -> Notice | None:
        """A ``Notice`` when this rejection should become an event, else None (counted)."""
        key = (vehicle_id, kind)
        last = self._last.get(key)
        if last is not None and now_ns - last < self.every_ns:
            return None  # this vehicle's repeats: not worth a count either
        start, sent = self._window.get(kind, (now_ns, 0))
        if now_ns - start >= self.every_ns:
            start, sent = now_ns, 0
        if sent >= self.per_kind:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            self._window[kind] = (start, sent)
            return None
        self._window[kind] = (start, sent + 1)
        if len(self._last) >= self.remember:
            self._last = {k: t for k, t in self._last.items() if now_ns - t < self.every_ns}
            if len(self._last) >= self.remember:
                self._last.clear()  # all recent: forget them rather than grow
        self._last[key] = now_ns
        return Notice(self._suppressed.pop(kind, 0))
