"""The fused sensor pipeline as a frame source (``source.kind: sensors``).

Sensor inputs (VRAD radar datagrams or an ARS408 CAN bus, camera JSON datagrams; see
``roadside.ingest``; or cameras on pixels, detected on this RSU, ``roadside.camera``) -> calibration to the ENU ground plane -> the tracker -> snapshot. Each
calibrated scan goes into the tracker as it arrives, between publish ticks (a scan older than
one already fused is replayed in time order by the tracker), so a tick only predicts the tracks:
``snapshot(now_ns)`` returns the tracks predicted to ``now_ns`` with every sensor's health,
judged by the RSU's clock when its valid cycles arrived (``roadside.sources.health``): a sensor
with no accepted cycle received for ``degraded_after_s`` is DEGRADED, for ``silent_after_s``
SILENT (or one that was never heard), one whose stamps fall outside the time window DEGRADED
for clock skew, and the others keep the tracks going. Junk on a port is counted, not judged. A
camera on pixels whose model cannot be loaded or whose stream is dead is SILENT with that reason
(``health_reasons``).

Every input stamps each datagram with the RSU's ``clock`` as it arrives; a cycle measured
outside ``time_window`` of that is rejected (``future``, ``stale``) before the tracker sees it.

``start()``/``stop()`` open and close the inputs' sockets and buses; ``ports`` tells which UDP
port each input is bound to (useful with port 0).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from roadside.calibration import CameraProjector, RadarProjector
from roadside.camera import PixelCamera, PixelsInputConfig
from roadside.fusion import REGISTRY as TRACKERS
from roadside.fusion.base import CLASS_SIZE_TABLE, CentreOffsets, Coverage, Scan, class_index
from roadside.ingest import (
    Ars408Decoder,
    Ars408Reader,
    CameraFrame,
    Ingest,
    IngestStats,
    JsonCameraDecoder,
    RadarCycle,
    TimeWindow,
    UdpEndpoint,
    VradDecoder,
)
from roadside.sources.base import FrameSource, Snapshot
from roadside.sources.fused_config import (
    CameraSensorConfig,
    CanArs408InputConfig,
    RadarSensorConfig,
    SensorsSourceConfig,
)
from roadside.sources.health import judge
from vicoop.errors import StartupError
from vicoop.model import NS_PER_S, SensorHealth, SensorKind, SensorStatus

log = logging.getLogger(__name__)


def radar_coverage(config: RadarSensorConfig) -> Coverage:
    m = config.mounting
    return Coverage((m.x_m, m.y_m), m.yaw_rad, config.half_fov_rad, config.max_range_m)


def camera_coverage(config: CameraSensorConfig) -> Coverage | None:
    e = config.calibration.extrinsics
    if e is None:
        return None
    i = config.calibration.intrinsics
    half = math.atan2(i.width_px / 2.0, i.fx)
    # Ground nearer than where the bottom image row meets the ground is out of view.
    near = e.z_m / math.tan(
        min(e.pitch_rad + math.atan2(i.height_px - i.cy, i.fy), math.pi / 2 - 1e-3)
    )
    return Coverage((e.x_m, e.y_m), e.yaw_rad, half, config.max_range_m, near)


def radar_scan(cycle: RadarCycle, projector: RadarProjector, coverage: Coverage | None) -> Scan:
    """A radar cycle as a calibrated scan: ENU positions, covariances, radial speeds."""
    ground = projector.project((cycle.ranges_m, cycle.azimuths_rad))
    sizes = None
    if cycle.lengths_m is not None and cycle.widths_m is not None:
        sizes = np.column_stack([cycle.lengths_m, cycle.widths_m, np.full(len(cycle), np.nan)])
    return Scan(
        sensor_id=cycle.sensor_id,
        kind=SensorKind.RADAR,
        measured_at_ns=cycle.measured_at_ns,
        positions=ground.positions,
        covariances=ground.covariances,
        coverage=coverage,
        radial_speeds=cycle.radial_speeds_mps,
        radial_speed_var=projector.noise.radial_speed_sigma_mps**2,
        sensor_position=projector.position_xy,
        classes=cycle.classes,
        class_scores=np.full(len(cycle), 0.6),
        sizes=sizes,
        extent_fraction=projector.noise.extent_fraction,
    )


def camera_scan(
    frame: CameraFrame,
    projector: CameraProjector,
    coverage: Coverage | None,
    min_score: float = 0.0,
) -> Scan:
    """A camera frame as a calibrated scan (boxes scoring below ``min_score`` dropped); the box
    height and the ground distance give the object's height."""
    keep = frame.scores >= min_score
    boxes, classes, scores = frame.boxes[keep], frame.classes[keep], frame.scores[keep]
    ground = projector.project((boxes, classes))
    sizes = np.full((boxes.shape[0], 3), np.nan)
    if projector.config.extrinsics is not None and boxes.shape[0]:
        e = projector.config.extrinsics
        dist = np.hypot(ground.positions[:, 0] - e.x_m, ground.positions[:, 1] - e.y_m)
        ci = class_index(classes)
        depth = np.where(ci >= 0, CLASS_SIZE_TABLE[np.maximum(ci, 0), 0] / 2, 2.0)
        # Pixel height over focal length is the angle it spans; at that distance, its height.
        sizes[:, 2] = (
            (boxes[:, 3] - boxes[:, 1])
            / projector.config.intrinsics.fy
            * (dist + depth)
            * math.cos(e.pitch_rad)
        )
    offsets = None
    if ground.centre_offsets is not None and ground.centre_offset_vars is not None:
        offsets = CentreOffsets(
            projector.view_axis_rad, ground.centre_offsets, ground.centre_offset_vars
        )
    return Scan(
        sensor_id=frame.sensor_id,
        kind=SensorKind.CAMERA,
        measured_at_ns=frame.measured_at_ns,
        positions=ground.positions,
        covariances=ground.covariances,
        coverage=coverage,
        classes=classes,
        class_scores=scores,
        sizes=sizes,
        sensor_position=projector.position_xy or (0.0, 0.0),
        centre_offsets=offsets,
        whole_object_coverage=True,
    )


class _Sensor:
    def __init__(self, sensor_id: str, kind: SensorKind, stats: IngestStats) -> None:
        self.sensor_id = sensor_id
        self.kind = kind
        self.stats = stats
        self.endpoint: Any = None
        self.ingest: Ingest[Any] | None = None
        self.judged: tuple[SensorHealth, str] | None = None
        # Why an input that delivers nothing does not (a camera's model or stream), or "".
        self.failure: Callable[[], str] = lambda: ""


class SensorFusion(FrameSource):
    """Owns the tracker and the sensor inputs; see the module docstring."""

    def __init__(
        self, config: SensorsSourceConfig, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.config = config
        tw = config.time_window
        window = TimeWindow(round(tw.max_future_s * NS_PER_S), round(tw.max_age_s * NS_PER_S))
        self.tracker = TRACKERS[config.tracker_kind](config.tracker)
        self._sensors: dict[str, _Sensor] = {}
        self._radar: dict[str, tuple[RadarProjector, Coverage]] = {}
        self._camera: dict[str, tuple[CameraProjector, Coverage | None, float]] = {}
        for r in config.radars:
            self._radar[r.sensor_id] = (RadarProjector(r.mounting, r.noise), radar_coverage(r))
            if isinstance(r.input, CanArs408InputConfig):
                decoder = Ars408Decoder(
                    r.sensor_id, r.input.can_sensor_id, r.input.extended, window
                )
                reader = Ars408Reader(
                    decoder,
                    self.add_radar,
                    clock,
                    interface=r.input.interface,
                    channel=r.input.channel,
                )
                sensor = _Sensor(r.sensor_id, SensorKind.RADAR, decoder.stats)
                sensor.endpoint = reader
            else:
                ingest_r = Ingest(
                    VradDecoder(r.sensor_id, r.input.wire_id), self.add_radar, window=window
                )
                sensor = _Sensor(r.sensor_id, SensorKind.RADAR, ingest_r.stats)
                sensor.ingest = ingest_r
                sensor.endpoint = UdpEndpoint(
                    ingest_r,
                    r.input.host,
                    r.input.port,
                    clock,
                    guard=r.input.trust.guard(f"source.radars[{r.sensor_id}].input.trust"),
                )
            self._sensors[r.sensor_id] = sensor
        for c in config.cameras:
            self._camera[c.sensor_id] = (
                CameraProjector(c.calibration),
                camera_coverage(c),
                c.min_score,
            )
            if isinstance(c.input, PixelsInputConfig):
                camera = PixelCamera(c.sensor_id, c.input, self.add_camera, window, clock)
                sensor = _Sensor(c.sensor_id, SensorKind.CAMERA, camera.stats)
                sensor.endpoint = camera
                sensor.failure = functools.partial(getattr, camera, "failure")
            else:
                ingest_c = Ingest(
                    JsonCameraDecoder(c.sensor_id),
                    self.add_camera,
                    counter_modulus=1 << 63,
                    window=window,
                )
                sensor = _Sensor(c.sensor_id, SensorKind.CAMERA, ingest_c.stats)
                sensor.ingest = ingest_c
                sensor.endpoint = UdpEndpoint(
                    ingest_c,
                    c.input.host,
                    c.input.port,
                    clock,
                    guard=c.input.trust.guard(f"source.cameras[{c.sensor_id}].input.trust"),
                )
            self._sensors[c.sensor_id] = sensor

    # -- inputs -----------------------------------------------------------------------------

    def add_radar(self, cycle: RadarCycle) -> None:
        """Fuse a decoded radar cycle now."""
        projector, coverage = self._radar[cycle.sensor_id]
        self.tracker.ingest(radar_scan(cycle, projector, coverage))

    def add_camera(self, frame: CameraFrame) -> None:
        """Fuse a decoded camera frame now."""
        projector, coverage, min_score = self._camera[frame.sensor_id]
        self.tracker.ingest(camera_scan(frame, projector, coverage, min_score))

    def receive(self, sensor_id: str, data: bytes, received_ns: int) -> None:
        """Take one datagram for a UDP input as its socket would, received at ``received_ns``
        (RSU clock): decoded, checked and fused, or counted as rejected."""
        ingest = self._sensors[sensor_id].ingest
        if ingest is None:
            raise KeyError(f"{sensor_id} is not a UDP input")
        ingest.feed(data, received_ns)

    def ingest_stats(self) -> dict[str, IngestStats]:
        """Per sensor: accepted cycles and rejections by reason."""
        return {s.sensor_id: s.stats for s in self._sensors.values()}

    @property
    def ports(self) -> dict[str, int]:
        """The UDP port each UDP input listens on, by sensor id."""
        return {
            s.sensor_id: s.endpoint.port
            for s in self._sensors.values()
            if isinstance(s.endpoint, UdpEndpoint)
        }

    async def start(self) -> None:
        started: list[_Sensor] = []
        try:
            for s in self._sensors.values():
                try:
                    await s.endpoint.start()
                except StartupError as exc:
                    raise StartupError(f"sensor {s.sensor_id}: {exc}") from None
                started.append(s)
        except BaseException:
            for s in started:
                await s.endpoint.stop()
            raise

    async def stop(self) -> None:
        for s in self._sensors.values():
            await s.endpoint.stop()

    # -- output -----------------------------------------------------------------------------

    def snapshot(self, now_ns: int) -> Snapshot:
        estimates = self.tracker.step((), now_ns)
        return Snapshot(estimates.to_objects(), self.sensor_status(now_ns))

    def sensor_status(self, now_ns: int) -> tuple[SensorStatus, ...]:
        """Every sensor's health at ``now_ns`` (RSU clock), with why it is not OK (on the wire to
        vehicles and the twin); a change is logged with its reason."""
        statuses = []
        for s in self._sensors.values():
            health, reason = self._judge(s, now_ns)
            statuses.append(
                SensorStatus(s.sensor_id, s.kind, health, s.stats.last_accepted_ns or 0, reason)
            )
        return tuple(statuses)

    def health_reasons(self, now_ns: int) -> dict[str, str]:
        """Why each sensor is not OK at ``now_ns`` (``""`` for those that are)."""
        return {s.sensor_id: self._judge(s, now_ns)[1] for s in self._sensors.values()}

    def _judge(self, s: _Sensor, now_ns: int) -> tuple[SensorHealth, str]:
        judged = judge(
            s.stats,
            now_ns,
            round(self.config.degraded_after_s * NS_PER_S),
            round(self.config.silent_after_s * NS_PER_S),
        )
        if judged[0] is not SensorHealth.OK and (failure := s.failure()):
            judged = (judged[0], failure)
        if judged != s.judged:
            if s.judged is not None or judged[0] is not SensorHealth.SILENT:
                log.info(
                    "sensor %s is %s%s",
                    s.sensor_id,
                    judged[0].name,
                    f" ({judged[1]})" * bool(judged[1]),
                )
            s.judged = judged
        return judged
