"""A simulated radar: ground truth in, the radar's object list (polar) out.

Pure: ``measure_radar(truth, sensor, sim, rng)`` reads nothing but its arguments. The geometry
and the noise are the RSU's own configuration of the radar (``RadarSensorConfig``: mounting pose,
noise standard deviations, field of view, reach), so the RSU calibrates exactly what the rig
simulates. Per road user: the reflection point (uniform over the middle of its footprint), its
slant range, azimuth from boresight and radial speed, each with Gaussian noise; detected with a
probability falling quadratically from ``p_detect_near`` at the radar to ``p_detect_far`` at its
maximum range (scaled for pedestrians and cyclists), unless outside the field of view or hidden
behind nearer road users. Clutter: a Poisson number of false returns, uniform over the field of
view, with small radial speeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.sensors.config import RadarSimConfig
from hil.sensors.occlusion import hidden_share
from hil.truth import FloatArray, GroundTruth, IntArray
from roadside.ingest.base import RadarCycle
from roadside.sources.fused_config import RadarSensorConfig
from vicoop.model import ObjectClass

_VULNERABLE = (int(ObjectClass.PEDESTRIAN), int(ObjectClass.BICYCLE))
# Typical radar cross-section by class, dBsm.
_RCS = {
    int(ObjectClass.PEDESTRIAN): -5.0,
    int(ObjectClass.BICYCLE): 0.0,
    int(ObjectClass.MOTORCYCLE): 3.0,
    int(ObjectClass.TRUCK): 20.0,
    int(ObjectClass.BUS): 20.0,
    int(ObjectClass.TRAM): 25.0,
}


@dataclass(frozen=True, eq=False)
class RadarMeasurement:
    """One radar cycle: K returns. ``truth_ids`` (K,) is the road user each came from, -1 for
    clutter (for tests and diagnostics; not on the wire)."""

    measured_at_ns: int
    ranges_m: FloatArray
    azimuths_rad: FloatArray
    radial_speeds_mps: FloatArray
    rcs_dbsm: FloatArray
    truth_ids: IntArray

    def __len__(self) -> int:
        return int(self.ranges_m.shape[0])

    def as_cycle(self, sensor_id: str, cycle: int) -> RadarCycle:
        """The cycle as the RSU's radar ingest delivers it (the VRAD wire carries no class)."""
        return RadarCycle(
            sensor_id,
            cycle,
            self.measured_at_ns,
            self.ranges_m,
            self.azimuths_rad,
            self.radial_speeds_mps,
            self.rcs_dbsm,
            np.zeros(len(self), dtype=np.int64),
        )


def detection_probability(
    ground_range_m: FloatArray, classes: IntArray, sensor: RadarSensorConfig, sim: RadarSimConfig
) -> FloatArray:
    """(N,) detection probability at each ground range (m), before field of view and occlusion."""
    x = np.clip(np.asarray(ground_range_m) / sensor.max_range_m, 0.0, 1.0)
    pd = sim.p_detect_near + (sim.p_detect_far - sim.p_detect_near) * x * x
    out: FloatArray = np.where(np.isin(classes, _VULNERABLE), pd * sim.vulnerable_factor, pd)
    return out


def radar_visible(truth: GroundTruth, sensor: RadarSensorConfig, sim: RadarSimConfig) -> np.ndarray:
    """(N,) whether each road user is inside the field of view and reach and not hidden."""
    m = sensor.mounting
    d = truth.positions - [m.x_m, m.y_m]
    ground = np.hypot(d[:, 0], d[:, 1])
    az = np.angle(np.exp(1j * (np.arctan2(d[:, 1], d[:, 0]) - m.yaw_rad)))
    in_fov = (np.abs(az) <= sensor.half_fov_rad) & (ground <= sensor.max_range_m)
    hidden = hidden_share(truth, (m.x_m, m.y_m, m.z_m), m.yaw_rad) > sim.occlusion_threshold
    out: np.ndarray = in_fov & ~hidden
    return out


def measure_radar(
    truth: GroundTruth,
    sensor: RadarSensorConfig,
    sim: RadarSimConfig,
    rng: np.random.Generator,
    clutter_per_scan: float | None = None,
) -> RadarMeasurement:
    """The radar's cycle measured at ``truth.t_ns``; ``clutter_per_scan`` overrides the
    configured clutter rate (a fault's burst)."""
    m, noise = sensor.mounting, sensor.noise
    n = len(truth)
    u = np.column_stack([np.cos(truth.headings), np.sin(truth.headings)])
    lat = np.column_stack([-u[:, 1], u[:, 0]])
    spread = sim.reflection_spread
    pos = truth.positions + u * (rng.uniform(-spread, spread, n) * truth.sizes[:, 0])[:, None]
    pos = pos + lat * (rng.uniform(-spread, spread, n) * truth.sizes[:, 1])[:, None]
    d = pos - [m.x_m, m.y_m]
    ground = np.hypot(d[:, 0], d[:, 1])
    az = np.angle(np.exp(1j * (np.arctan2(d[:, 1], d[:, 0]) - m.yaw_rad)))
    vr = np.einsum("ij,ij->i", truth.velocities, d) / np.maximum(ground, 1e-6)
    pd = detection_probability(ground, truth.classes, sensor, sim)
    seen = radar_visible(truth, sensor, sim) & (rng.random(n) < pd)
    k = int(seen.sum())
    ranges = np.hypot(ground[seen], m.z_m) + rng.normal(0.0, noise.range_sigma_m, k)
    azimuths = az[seen] + rng.normal(0.0, noise.azimuth_sigma_rad, k)
    speeds = vr[seen] + rng.normal(0.0, noise.radial_speed_sigma_mps, k)
    rcs = np.array([_RCS.get(int(c), 10.0) for c in truth.classes[seen]]) + rng.normal(0.0, 2.0, k)
    nc = int(rng.poisson(sim.clutter_per_scan if clutter_per_scan is None else clutter_per_scan))
    c_ranges = rng.uniform(5.0, sensor.max_range_m, nc)
    c_az = rng.uniform(-sensor.half_fov_rad, sensor.half_fov_rad, nc)
    order = rng.permutation(k + nc)
    return RadarMeasurement(
        measured_at_ns=truth.t_ns,
        ranges_m=np.maximum(np.concatenate([ranges, c_ranges]), 0.0)[order],
        azimuths_rad=np.clip(np.concatenate([azimuths, c_az]), -np.pi, np.pi)[order],
        radial_speeds_mps=np.concatenate([speeds, rng.normal(0.0, 0.5, nc)])[order],
        rcs_dbsm=np.concatenate([rcs, rng.normal(-5.0, 3.0, nc)])[order],
        truth_ids=np.concatenate([truth.ids[seen], np.full(nc, -1, dtype=np.int64)])[order],
    )
