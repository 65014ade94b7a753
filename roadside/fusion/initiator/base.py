"""The initiator stage's interface: the state a new track starts from."""

from __future__ import annotations

import abc

from roadside.fusion.base import FloatArray, IntArray, Scan


class Initiator(abc.ABC):
    """Starts tracks from measurements that no track took."""

    @abc.abstractmethod
    def initiate(self, scan: Scan, cols: IntArray) -> tuple[FloatArray, FloatArray]:
        """The (B, 5) states ``[x, y, vx, vy, omega]`` and (B, 5, 5) covariances (ENU; m, m/s,
        rad/s) of B new tracks, one started from each of ``scan``'s measurement rows ``cols``."""
