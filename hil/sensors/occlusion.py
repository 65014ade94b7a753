"""Which road users a sensor cannot see because nearer ones are in the way.

Each road user's footprint spans an interval of bearings seen from the sensor; ``samples`` rays
spread over that interval from the sensor towards the top of the road user, and a ray is blocked
by a nearer road user whose bearing interval holds it and which is taller than the ray where the
ray passes it. The hidden share is the blocked rays' share. A radar near the ground is hidden
behind any car; a camera on a mast sees over low vehicles to taller ones.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hil.truth import FloatArray, GroundTruth


def footprint_corners(truth: GroundTruth) -> FloatArray:
    """(N, 4, 2) ENU corners of each road user's footprint."""
    u = np.column_stack([np.cos(truth.headings), np.sin(truth.headings)])
    lat = np.column_stack([-u[:, 1], u[:, 0]])
    half_l = truth.sizes[:, 0:1] / 2
    half_w = truth.sizes[:, 1:2] / 2
    corners = [
        truth.positions + u * sl * half_l + lat * sw * half_w
        for sl, sw in ((1, 1), (1, -1), (-1, -1), (-1, 1))
    ]
    return np.stack(corners, axis=1)


def bearing_intervals(
    truth: GroundTruth, sensor_xy: tuple[float, float], boresight_rad: float
) -> FloatArray:
    """(N, 2) bearing interval [low, high] of each footprint, rad from ``boresight_rad``.

    Intervals of road users straddling the direction opposite the boresight are not meaningful
    (they are outside any field of view narrower than 360 degrees)."""
    if not len(truth):
        return np.zeros((0, 2))
    c = truth.positions - np.asarray(sensor_xy)
    centre = np.angle(np.exp(1j * (np.arctan2(c[:, 1], c[:, 0]) - boresight_rad)))
    d = footprint_corners(truth) - np.asarray(sensor_xy)
    # Corners relative to the centre's bearing, so a footprint behind the sensor does not wrap.
    rel = np.angle(
        np.exp(1j * (np.arctan2(d[..., 1], d[..., 0]) - boresight_rad - centre[:, None]))
    )
    return np.column_stack([centre + rel.min(axis=1), centre + rel.max(axis=1)])


def hidden_share(
    truth: GroundTruth,
    sensor_xyz: tuple[float, float, float],
    boresight_rad: float,
    samples: int = 8,
) -> npt.NDArray[np.float64]:
    """(N,) share in [0, 1] of each road user hidden behind nearer ones, seen from ``sensor_xyz``."""
    n = len(truth)
    if n == 0:
        return np.zeros(0)
    iv = bearing_intervals(truth, sensor_xyz[:2], boresight_rad)
    d = truth.positions - np.asarray(sensor_xyz[:2])
    dist = np.hypot(d[:, 0], d[:, 1])
    # Ray k of road user i, at bearing rays[i, k], aimed at its top at distance dist[i].
    frac = (np.arange(samples) + 0.5) / samples
    rays = iv[:, :1] + (iv[:, 1:2] - iv[:, :1]) * frac[None, :]
    nearer = dist[None, :] < dist[:, None]  # [i, j]: j is nearer than i
    inside = (rays[:, :, None] >= iv[None, None, :, 0]) & (
        rays[:, :, None] <= iv[None, None, :, 1]
    )  # [i, k, j]
    z0 = sensor_xyz[2]
    # Height of the ray from the sensor to i's top where it passes j's distance.
    ray_h = z0 + (truth.sizes[:, 2][:, None] - z0) * (
        dist[None, :] / np.maximum(dist[:, None], 1e-6)
    )  # [i, j]
    taller = truth.sizes[:, 2][None, :] >= ray_h
    blocks = nearer & taller
    np.fill_diagonal(blocks, False)
    blocked = (inside & blocks[:, None, :]).any(axis=2)
    out: npt.NDArray[np.float64] = blocked.mean(axis=1)
    return out
