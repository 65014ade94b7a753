"""The result of a rig run, typed: what ``vicoop hil run --json`` writes and the HTML report shows.

Times are s since the run's start unless named otherwise; latencies in ms; positions in the
first RSU's ENU frame (m). ``RunResult.to_json`` gives the JSON object: a field's name is its key,
so a new figure is one new field (fields marked ``_NOT_IN_JSON`` are for the report only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hil.faults import FaultReport
from hil.scoring import TrackingScore, percentiles_ms

__all__ = [
    "GlosaFigures",
    "GlosaGroup",
    "LatencySplit",
    "MapData",
    "Percentiles",
    "ReportSeries",
    "RsuResult",
    "RunResult",
    "SensorFigures",
    "SpatFigures",
    "UdpLinkFigures",
]

_NOT_IN_JSON = {"json": False}


@dataclass(frozen=True)
class Percentiles:
    """p50, p99 and max, ms (None without samples)."""

    p50: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, latencies_s: Sequence[float]) -> Percentiles:
        """Of latencies given in seconds."""
        return cls(**percentiles_ms(latencies_s))


@dataclass(frozen=True)
class LatencySplit:
    """Where the latency goes (real time, the scoring clients): the RSU's tick (valid_at) to its
    publishing the frame (fusion), and publishing to a vehicle receiving it."""

    tick_to_published: Percentiles
    published_to_received: Percentiles


@dataclass(frozen=True)
class SensorFigures:
    """One simulated sensor: its kind, cycles measured, datagrams sent, cycles silenced by a
    fault, and the share of received frames reporting each health (``{"OK": 0.99, ...}``)."""

    kind: str
    cycles_measured: int
    datagrams_sent: int
    silenced_by_fault: int
    health_share: Mapping[str, float]


@dataclass(frozen=True)
class UdpLinkFigures:
    """The sensor datagrams' link: sent into it, lost and reordered by it."""

    datagrams: int
    lost: int
    reordered: int


@dataclass(frozen=True)
class RsuResult:
    """One RSU: its tracking score, gRPC target, sensors, sensor link, signal states sent."""

    score: TrackingScore
    target: str
    sensors: Mapping[str, SensorFigures]
    udp_link: UdpLinkFigures
    signal_states_sent: int

    def to_json(self) -> dict[str, Any]:
        """The score's figures, then ``target``, ``sensors`` (with ``udp_link`` among them) and
        ``signal_states_sent``."""
        return {
            **self.score.as_dict(),
            "target": self.target,
            "sensors": _json({**self.sensors, "udp_link": self.udp_link}),
            "signal_states_sent": self.signal_states_sent,
        }


@dataclass(frozen=True)
class SpatFigures:
    """The SPaT as a vehicle received it (``hil.rigspat``): latency from the rig's SPaT publish
    call to the client (lock-step) or from the SUMO step that changed a light to the client
    (real time), the signal changes SUMO made (judged per intersection by
    ``roadside.spat.SpatChecker``), how many fell outside a ``[min_end, max_end]`` predicted
    for them, the ``likely_end`` error (s) by control type (``fixed_time``, ``actuated``: p50,
    p90), and the share of SUMO's vehicles on the MAP's ingress lanes that ``match_lane`` put on
    SUMO's own lane."""

    intersections: Sequence[str]
    latency_ms: Percentiles
    latency_basis: str
    updates_received: int
    changes: int
    outside_window: int
    predictions_judged: int
    likely_end_error_s: Mapping[str, Mapping[str, float | None]]
    lane_match_rate: float | None
    lane_match_samples: int
    client_wait_timeouts: int
    # Real time: changes no SPaT the client received showed within hil.rigspat.LOST_AFTER_S.
    changes_not_received: int = 0


@dataclass(frozen=True)
class GlosaGroup:
    """One group of vehicles of a ``--glosa`` run (``hil.glosa``): how many counted, their
    stops per vehicle (SUMO tripinfo ``waitingCount``, the whole trip) and CO2 per vehicle (g,
    HBEFA through SUMO's emissions device, the whole trip), and the stops on the ingress lanes
    of the RSUs' MAPs alone (the part GLOSA acts on), and CO2 per km driven (g/km: the groups'
    trips differ in length by chance); None without vehicles."""

    vehicles: int
    stops_per_vehicle: float | None
    co2_g_per_vehicle: float | None
    stops_at_signals_per_vehicle: float | None
    co2_g_per_km: float | None


@dataclass(frozen=True)
class GlosaFigures:
    """GLOSA in the rig (``vicoop hil run --glosa FRACTION``; ``hil.glosa``): the equipped
    ``fraction``, both groups of the same run, the reductions (1 - equipped / unequipped: 0.3
    is 30 % fewer), how many counted equipped vehicles got an advice at least once, the share of
    advisory updates (equipped vehicle on an ingress lane) that had one, and which vehicles
    count."""

    fraction: float
    equipped: GlosaGroup
    unequipped: GlosaGroup
    stops_reduction: float | None
    co2_reduction: float | None
    equipped_advised: int
    advice_share: float | None
    counted: str


@dataclass(frozen=True)
class MapData:
    """The first RSU's map, thinned to 2 Hz: ground truth in coverage and received tracks (one
    polyline of (x, y) m each), and each sensor's field of view (kind, x m, y m, boresight rad,
    half field of view rad, reach m)."""

    truth: Sequence[Sequence[tuple[float, float]]] = ()
    tracks: Sequence[Sequence[tuple[float, float]]] = ()
    sensors: Sequence[tuple[str, float, float, float, float, float]] = ()


@dataclass(frozen=True)
class ReportSeries:
    """The series the report charts: every latency (ms), the p50 latency per second (s, ms),
    the tracking timeline per second (t_s, ground truth, matches, misses, false positives,
    switches), the fault windows (name, start s, end s) and the map."""

    latencies_ms: Sequence[float] = ()
    latency_timeline: Sequence[tuple[float, float]] = ()
    timeline: Sequence[tuple[float, int, int, int, int, int]] = ()
    fault_windows: Sequence[tuple[str, float, float]] = ()
    map: MapData = MapData()


@dataclass(frozen=True)
class RunResult:
    """One run (see the README's "For test engineers"): tracking quality over every RSU
    (weighted by ground truth), latency (ms), frames lost, the same outside fault windows,
    per-RSU figures and each fault's outcome."""

    scenario: str
    mode: str  # "lockstep" or "realtime"
    rsu_mode: str  # hil.rsu.MODES
    duration_s: float
    wall_s: float
    vehicle_clients: int
    mota: float | None
    idf1: float | None
    hota: float | None
    position_rmse_m: float | None
    velocity_rmse_mps: float | None
    latency_ms: Percentiles
    latency_basis: str
    latency_ms_outside_faults: Percentiles
    # The newest sensor measurement behind a frame -> received (real time).
    measurement_to_vehicle_ms: Percentiles
    latency_split_ms: LatencySplit
    frames_published: Mapping[str, int]  # by RSU id
    frames_received: int
    frames_lost: int
    frames_lost_outside_faults: int
    # Where they were lost (s since the start, frames, client; the first 50), to look into.
    frames_lost_outside_faults_at_s: Sequence[tuple[float, int, str]]
    client_reconnects: int
    mota_outside_faults: float | None
    barrier_timeouts: int
    faults: Mapping[str, FaultReport]
    rsus: Mapping[str, RsuResult]
    site_file: str | None
    # None when not measured, with the reason in spat_not_measured.
    spat: SpatFigures | None = None
    spat_not_measured: str | None = None
    # None without --glosa.
    glosa: GlosaFigures | None = None
    report: ReportSeries = field(default=ReportSeries(), metadata=_NOT_IN_JSON)

    @property
    def failed_faults(self) -> list[str]:
        """The faults whose outcome failed."""
        return [name for name, f in self.faults.items() if not f.passed]

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the run (every field but the report's series)."""
        return _fields(self)


def _fields(obj: Any) -> dict[str, Any]:
    return {
        f.name: _json(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if f.metadata.get("json", True)
    }


def _json(v: Any) -> Any:
    if isinstance(v, RsuResult | FaultReport):
        return v.to_json()
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return _fields(v)
    if isinstance(v, Mapping):
        return {k: _json(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json(x) for x in v]
    return v
