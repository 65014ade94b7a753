"""A track from a single measurement: its position as measured, its speed along the line of
sight as a radar measured it, everything else unknown (zero, with a wide prior)."""

from __future__ import annotations

import numpy as np

from roadside.fusion.base import STATE_DIM, FloatArray, IntArray, Scan
from roadside.fusion.config import TrackerConfig
from roadside.fusion.initiator.base import Initiator


class SinglePointInitiator(Initiator):
    """New tracks with velocity standard deviation ``speed_sigma_mps`` (m/s, across what the
    sensor measured) and turn rate standard deviation ``turn_sigma_radps`` (rad/s)."""

    name = "single-point"

    def __init__(self, speed_sigma_mps: float = 8.0, turn_sigma_radps: float = 0.2) -> None:
        self.speed_sigma_mps = speed_sigma_mps
        self.turn_sigma_radps = turn_sigma_radps

    @classmethod
    def from_config(cls, config: TrackerConfig) -> SinglePointInitiator:
        """The initiator with ``config``'s ``init_speed_sigma_mps`` and ``init_turn_sigma_radps``."""
        return cls(config.init_speed_sigma_mps, config.init_turn_sigma_radps)

    def initiate(self, scan: Scan, cols: IntArray) -> tuple[FloatArray, FloatArray]:
        b = cols.size
        x = np.zeros((b, STATE_DIM))
        x[:, :2] = scan.positions[cols]
        p = np.zeros((b, STATE_DIM, STATE_DIM))
        p[:, :2, :2] = scan.covariances[cols]
        sv2 = self.speed_sigma_mps**2
        if scan.radial_speeds is not None:
            # The radar measured the speed along the line of sight; only the rest is unknown.
            d = x[:, :2] - np.asarray(scan.sensor_position)
            u = d / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-3)[:, None]
            x[:, 2:4] = u * scan.radial_speeds[cols][:, None]
            uu = u[:, :, None] * u[:, None, :]
            p[:, 2:4, 2:4] = sv2 * (np.eye(2) - uu) + scan.radial_speed_var * uu
        else:
            p[:, 2, 2] = p[:, 3, 3] = sv2
        p[:, 4, 4] = self.turn_sigma_radps**2
        return x, p
