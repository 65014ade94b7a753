"""Fault injection: what each fault does to the rig's links and participants, and the outcome
the rig expects of the stack, checked against what the vehicles received.

A fault is active over a window of the run (seconds since its start); ``begin``/``end`` act on
the rig through ``FaultTarget`` and ``check`` reads the ``Evidence``; ``report`` gives the typed
``FaultReport``. Faults are chosen by name from ``REGISTRY`` (``--faults radar_silent,rsu_restart``
or ``all``); after that the rig asks what a fault is by its type (``SensorSilent``,
``VehicleLinkFault``, ``StalledClient``), never by its name.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from hil.scoring import mota_of, recall_of
from vicoop.model import SensorHealth, SensorKind


class FaultTarget(Protocol):
    """What faults act on (the rig)."""

    def set_sensor_silent(self, kind: SensorKind, silent: bool) -> None: ...
    def set_clutter(self, per_scan: float | None) -> None: ...
    def set_udp_link(self, loss: float, reorder: float, reorder_delay_ms: float) -> None: ...
    def set_vehicle_link(self, delay_s: float, down: bool) -> None: ...
    def stall_client(self, stalled: bool) -> None: ...
    def stop_rsu(self) -> None: ...
    def start_rsu(self) -> None: ...


@dataclass
class ProbeRecord:
    """What one vehicle client received: per frame (valid_at s since the run's start, latency s,
    objects), sequence gaps (s, frames missed) and its stream's counters."""

    name: str
    frames: list[tuple[float, float, int]] = field(default_factory=list)
    gaps: list[tuple[float, int]] = field(default_factory=list)
    reconnects: int = 0
    stalled: bool = False

    def times(self) -> np.ndarray:
        return np.array([f[0] for f in self.frames])

    def latencies_in(self, start_s: float, end_s: float) -> list[float]:
        return [lat for t, lat, _ in self.frames if start_s <= t < end_s]

    def lost_in(self, start_s: float, end_s: float) -> int:
        return sum(m for t, m in self.gaps if start_s <= t < end_s)

    def first_after(self, t_s: float) -> float | None:
        after = [t for t, _, _ in self.frames if t >= t_s]
        return min(after) if after else None


@dataclass
class Evidence:
    """What the rig observed, for the faults' checks (times in s since the run's start)."""

    probes: Sequence[ProbeRecord]
    # The scoring client's frames: (t_s, objects, {sensor_id: (kind, health)}).
    health: Sequence[tuple[float, int, dict[str, tuple[SensorKind, SensorHealth]]]]
    timeline: Sequence[tuple[float, int, int, int, int, int]]
    silent_after_s: float
    period_s: float
    # The same timeline scored only inside the coverage of one kind of sensor (a road user only
    # the radars reach cannot stay tracked while the radars are silent).
    coverage_timelines: Mapping[SensorKind, Sequence[tuple[float, int, int, int, int, int]]] = (
        field(default_factory=dict)
    )

    def health_in(
        self, start_s: float, end_s: float
    ) -> list[tuple[float, int, dict[str, tuple[SensorKind, SensorHealth]]]]:
        return [h for h in self.health if start_s <= h[0] < end_s]

    def objects_in(self, start_s: float, end_s: float) -> float:
        rows = self.health_in(start_s, end_s)
        return float(np.mean([r[1] for r in rows])) if rows else math.nan

    def latency_p50(self, start_s: float, end_s: float) -> float:
        lat = [x for p in self.probes if not p.stalled for x in p.latencies_in(start_s, end_s)]
        return float(np.median(lat)) if lat else math.nan


@dataclass(frozen=True)
class FaultReport:
    """A fault's outcome: its window (s since the run's start), the outcome the rig expected,
    whether the stack met it, the figures checked and, for a check that could not be evaluated,
    why (then it did not pass)."""

    start_s: float
    duration_s: float
    expected: str
    passed: bool
    figures: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object: the window, ``expected``, ``passed``, the figures, ``error``."""
        out = {
            "start_s": self.start_s,
            "duration_s": self.duration_s,
            "expected": self.expected,
            "passed": self.passed,
            **self.figures,
        }
        return out if self.error is None else out | {"error": self.error}


def _round(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 4)


class Fault(abc.ABC):
    """One fault: ``duration_s`` long from ``start_s`` (set by the schedule)."""

    name: ClassVar[str] = ""
    default_duration_s: ClassVar[float] = 6.0
    # How long after the window the stack gets to recover before the next fault.
    recovery_s: ClassVar[float] = 6.0

    def __init__(self, duration_s: float | None = None) -> None:
        self.duration_s = duration_s or self.default_duration_s
        self.start_s = 0.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def expectation(self) -> str:
        return (self.__doc__ or "").strip().splitlines()[0]

    @abc.abstractmethod
    def begin(self, rig: FaultTarget) -> None: ...

    @abc.abstractmethod
    def end(self, rig: FaultTarget) -> None: ...

    @abc.abstractmethod
    def check(self, ev: Evidence) -> dict[str, Any]:
        """``{"passed": bool, ...figures}``."""

    def report(self, ev: Evidence) -> FaultReport:
        """The outcome of ``check`` on ``ev``, with the fault's window."""
        start_s, expected = round(self.start_s, 3), self.expectation
        try:
            figures = self.check(ev)
        except Exception as exc:  # a check that cannot be evaluated fails, and says why
            error = f"{type(exc).__name__}: {exc}"
            return FaultReport(start_s, self.duration_s, expected, False, error=error)
        passed = bool(figures.pop("passed"))
        return FaultReport(start_s, self.duration_s, expected, passed, figures)


class SensorSilent(Fault):
    """Every sensor of one ``kind`` stops (the base of ``RadarSilent`` and ``CameraSilent``)."""

    kind: ClassVar[SensorKind] = SensorKind.RADAR

    @property
    def other(self) -> SensorKind:
        """The kind of sensor the tracks continue from."""
        return SensorKind.CAMERA if self.kind is SensorKind.RADAR else SensorKind.RADAR

    def begin(self, rig: FaultTarget) -> None:
        rig.set_sensor_silent(self.kind, True)

    def end(self, rig: FaultTarget) -> None:
        rig.set_sensor_silent(self.kind, False)

    def check(self, ev: Evidence) -> dict[str, Any]:
        settled = self.start_s + ev.silent_after_s + 0.5
        rows = ev.health_in(settled, self.end_s)
        silent = [
            all(h is SensorHealth.SILENT for k, h in r[2].values() if k is self.kind) for r in rows
        ]
        others_alive = [
            any(h is not SensorHealth.SILENT for k, h in r[2].values() if k is not self.kind)
            for r in rows
        ]
        share_silent = float(np.mean(silent)) if rows else 0.0
        before = ev.objects_in(self.start_s - 10.0, self.start_s)
        during = ev.objects_in(settled, self.end_s)
        # Tracks continue from the other sensors: the road users inside their coverage stay
        # tracked (recall there at least 0.8 of before). Without that timeline, the object count
        # must stay at half of before.
        other = self.other
        seen_by_others = ev.coverage_timelines.get(other)
        recall_before = recall_during = math.nan
        if seen_by_others:
            recall_before = recall_of(seen_by_others, self.start_s - 10.0, self.start_s)
            recall_during = recall_of(seen_by_others, settled, self.end_s)
            continues = (
                not math.isfinite(recall_before)
                or not math.isfinite(recall_during)
                or recall_during >= 0.8 * recall_before
            )
        else:
            continues = before == 0 or during >= 0.5 * before
        back = [
            r[0]
            for r in ev.health_in(self.end_s, self.end_s + self.recovery_s)
            if all(h is SensorHealth.OK for k, h in r[2].values() if k is self.kind)
        ]
        recovered_after = back[0] - self.end_s if back else math.nan
        passed = (
            share_silent >= 0.95
            and all(others_alive)
            and continues
            and math.isfinite(recovered_after)
            and recovered_after <= 3.0
        )
        return {
            "passed": bool(passed),
            "frames_reporting_silent": _round(share_silent),
            "objects_before": _round(before),
            "objects_during": _round(during),
            f"recall_in_{other.name.lower()}_coverage_before": _round(recall_before),
            f"recall_in_{other.name.lower()}_coverage_during": _round(recall_during),
            "recovered_after_s": _round(recovered_after),
        }


class RadarSilent(SensorSilent):
    """Every radar stops: frames report the radars SILENT, tracks continue from the cameras (recall inside their coverage at least 0.8 of before), and the radars are OK again within 3 s."""

    name = "radar_silent"
    kind = SensorKind.RADAR


class CameraSilent(SensorSilent):
    """Every camera stops: frames report the cameras SILENT, tracks continue from the radars (recall inside their coverage at least 0.8 of before), and the cameras are OK again within 3 s."""

    name = "camera_silent"
    kind = SensorKind.CAMERA


def _quality(ev: Evidence, fault: Fault) -> tuple[float, float, int]:
    before = mota_of(ev.timeline, fault.start_s - 15.0, fault.start_s)
    during = mota_of(ev.timeline, fault.start_s, fault.end_s)
    lost = sum(
        p.lost_in(fault.start_s, fault.end_s + fault.recovery_s) for p in ev.probes if not p.stalled
    )
    return before, during, lost


def _known(v: float) -> bool:
    return math.isfinite(v)


class ClutterBurst(Fault):
    """Radars report 20 times their clutter: the real road users stay tracked (recall at least 0.9 of before), false tracks are gone within 3 s after the burst (MOTA back to 0.9 of before), and no frame is lost."""

    name = "clutter_burst"
    factor = 20.0

    def begin(self, rig: FaultTarget) -> None:
        rig.set_clutter(self.factor)

    def end(self, rig: FaultTarget) -> None:
        rig.set_clutter(None)

    def check(self, ev: Evidence) -> dict[str, Any]:
        before, during, lost = _quality(ev, self)
        after = mota_of(ev.timeline, self.end_s + 3.0, self.end_s + self.recovery_s)
        recall_before = recall_of(ev.timeline, self.start_s - 15.0, self.start_s)
        recall_during = recall_of(ev.timeline, self.start_s, self.end_s)
        # No ground truth before: nothing to hold. Ground truth but no frames during: not held.
        held = not _known(recall_before) or (
            _known(recall_during) and recall_during >= 0.9 * recall_before
        )
        recovered = not _known(before) or (_known(after) and after >= 0.9 * before)
        return {
            "passed": bool(held and recovered and lost == 0),
            "recall_before": _round(recall_before),
            "recall_during": _round(recall_during),
            "mota_before": _round(before),
            "mota_during": _round(during),
            "mota_after": _round(after),
            "frames_lost": lost,
        }


class UdpLossReorder(Fault):
    """Sensor datagrams: 20 % lost, 20 % delayed 30 ms (overtaken): no sensor goes SILENT, tracking holds (MOTA at least 0.8 of before, or 0.75), no frame lost."""

    name = "udp_loss_reorder"
    default_duration_s = 10.0

    def begin(self, rig: FaultTarget) -> None:
        rig.set_udp_link(0.2, 0.2, 30.0)

    def end(self, rig: FaultTarget) -> None:
        rig.set_udp_link(0.0, 0.0, 0.0)

    def check(self, ev: Evidence) -> dict[str, Any]:
        before, during, lost = _quality(ev, self)
        silent = sum(
            1
            for r in ev.health_in(self.start_s, self.end_s)
            for _, h in r[2].values()
            if h is SensorHealth.SILENT
        )
        ok = not _known(before) or (_known(during) and during >= min(0.8 * before, 0.75))
        return {
            "passed": bool(ok and lost == 0 and silent == 0),
            "mota_before": _round(before),
            "mota_during": _round(during),
            "silent_reports": silent,
            "frames_lost": lost,
        }


class VehicleLinkFault(Fault):
    """A fault of the RSU -> vehicles link: the rig puts a ``TcpProxy`` on that link for it."""


class VehicleLinkDelay(VehicleLinkFault):
    """RSU -> vehicles delayed 50 ms: the vehicles' latency p50 rises by at least 40 ms during it and is back within 10 ms of before afterwards; no frame lost."""

    name = "vehicle_link_delay"
    delay_s = 0.05

    def begin(self, rig: FaultTarget) -> None:
        rig.set_vehicle_link(self.delay_s, False)

    def end(self, rig: FaultTarget) -> None:
        rig.set_vehicle_link(0.0, False)

    def check(self, ev: Evidence) -> dict[str, Any]:
        base = ev.latency_p50(self.start_s - 10.0, self.start_s)
        during = ev.latency_p50(self.start_s + 1.0, self.end_s)
        after = ev.latency_p50(self.end_s + 2.0, self.end_s + self.recovery_s)
        lost = sum(
            p.lost_in(self.start_s, self.end_s + self.recovery_s)
            for p in ev.probes
            if not p.stalled
        )
        ok = during - base >= 0.8 * self.delay_s and after - base <= 0.010 and lost == 0
        return {
            "passed": bool(ok),
            "latency_p50_before_ms": _round(base * 1e3),
            "latency_p50_during_ms": _round(during * 1e3),
            "latency_p50_after_ms": _round(after * 1e3),
            "frames_lost": lost,
        }


class VehicleLinkLoss(VehicleLinkFault):
    """RSU -> vehicles link down 3 s: every vehicle client reconnects and receives frames again within 5 s of the link coming back."""

    name = "vehicle_link_loss"
    default_duration_s = 3.0

    def begin(self, rig: FaultTarget) -> None:
        rig.set_vehicle_link(0.0, True)

    def end(self, rig: FaultTarget) -> None:
        rig.set_vehicle_link(0.0, False)

    def check(self, ev: Evidence) -> dict[str, Any]:
        resumed = [_after(p, self.end_s) for p in ev.probes if not p.stalled]
        worst = max(resumed) if resumed else math.nan
        return {
            "passed": bool(resumed and worst <= 5.0),
            "clients": len(resumed),
            "slowest_resume_s": _round(worst),
        }


class RsuRestart(Fault):
    """The RSU process stops and starts again 1 s later: every vehicle client reconnects and gets frames within 10 s, and tracks resume within 10 s."""

    name = "rsu_restart"
    default_duration_s = 1.0
    recovery_s = 12.0

    def begin(self, rig: FaultTarget) -> None:
        rig.stop_rsu()

    def end(self, rig: FaultTarget) -> None:
        rig.start_rsu()

    def check(self, ev: Evidence) -> dict[str, Any]:
        resumed = [_after(p, self.end_s) for p in ev.probes if not p.stalled]
        worst = max(resumed) if resumed else math.nan
        tracks = [r[0] for r in ev.health if r[0] >= self.end_s and r[1] > 0]
        truth_present = any(
            row[1] > 0 for row in ev.timeline if self.end_s <= row[0] < self.end_s + 10.0
        )
        tracks_after = tracks[0] - self.end_s if tracks else math.nan
        ok = bool(resumed) and worst <= 10.0 and (not truth_present or tracks_after <= 10.0)
        return {
            "passed": bool(ok),
            "slowest_client_resume_s": _round(worst),
            "tracks_resumed_after_s": _round(tracks_after),
        }


class StalledClient(Fault):
    """One vehicle client stops reading for 6 s: no other client loses a frame, and it gets frames again within 3 s of reading again (its dropped frames are counted)."""

    name = "stalled_client"

    def begin(self, rig: FaultTarget) -> None:
        rig.stall_client(True)

    def end(self, rig: FaultTarget) -> None:
        rig.stall_client(False)

    def check(self, ev: Evidence) -> dict[str, Any]:
        stalled = [p for p in ev.probes if p.stalled]
        others_lost = sum(
            p.lost_in(self.start_s, self.end_s + self.recovery_s)
            for p in ev.probes
            if not p.stalled
        )
        resumed = _after(stalled[0], self.end_s) if stalled else math.nan
        dropped = stalled[0].lost_in(self.start_s, self.end_s + self.recovery_s) if stalled else 0
        ok = bool(stalled) and others_lost == 0 and resumed <= 3.0
        return {
            "passed": bool(ok),
            "other_clients_frames_lost": others_lost,
            "stalled_client_resumed_after_s": _round(resumed),
            "stalled_client_frames_dropped": dropped,
        }


def _after(p: ProbeRecord, t_s: float) -> float:
    first = p.first_after(t_s)
    return math.inf if first is None else first - t_s


REGISTRY: dict[str, type[Fault]] = {
    f.name: f
    for f in (
        RadarSilent,
        CameraSilent,
        ClutterBurst,
        UdpLossReorder,
        VehicleLinkDelay,
        VehicleLinkLoss,
        RsuRestart,
        StalledClient,
    )
}


def make_faults(names: Sequence[str]) -> list[Fault]:
    """Faults by name; ``all`` is every fault."""
    from hil.errors import HilError

    if list(names) == ["all"]:
        names = list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise HilError(f"unknown faults {unknown}; known: {', '.join(REGISTRY)} or all")
    return [REGISTRY[n]() for n in names]


def schedule(faults: Sequence[Fault], duration_s: float, warmup_s: float = 15.0) -> None:
    """Give each fault its own window, one after another after ``warmup_s``."""
    from hil.errors import HilError

    t = warmup_s
    for f in faults:
        f.start_s = t
        t += f.duration_s + f.recovery_s + 4.0
    if faults and t > duration_s:
        raise HilError(f"these faults need --duration of at least {math.ceil(t)} s")
