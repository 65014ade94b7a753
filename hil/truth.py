"""Ground truth: what SUMO says is on the road at one instant, in a site's ENU frame.

Pure data and interpolation; no SUMO here (``hil.sumo`` fills it).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """N road users at ``t_ns`` (ns since the Unix epoch), in one site's ENU frame.

    ``ids`` (N,) are the rig's integer ids of SUMO's vehicle ids (stable for a run),
    ``positions`` (N, 2) m box centres, ``velocities`` (N, 2) m/s, ``headings`` (N,) rad
    counter-clockwise from east, ``classes`` (N,) ``ObjectClass`` values, ``sizes`` (N, 3)
    (length, width, height) m.
    """

    t_ns: int
    ids: IntArray
    positions: FloatArray
    velocities: FloatArray
    headings: FloatArray
    classes: IntArray
    sizes: FloatArray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def select(self, mask: npt.NDArray[np.bool_]) -> GroundTruth:
        """The road users where ``mask`` is true."""
        return GroundTruth(
            self.t_ns,
            self.ids[mask],
            self.positions[mask],
            self.velocities[mask],
            self.headings[mask],
            self.classes[mask],
            self.sizes[mask],
        )

    @staticmethod
    def empty(t_ns: int) -> GroundTruth:
        return GroundTruth(
            t_ns,
            np.zeros(0, dtype=np.int64),
            np.zeros((0, 2)),
            np.zeros((0, 2)),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, 3)),
        )


class TruthHistory:
    """Ground truth at every simulation step, for scoring tracks at their ``valid_at`` time.

    ``at(t_ns)`` interpolates linearly between the two steps around ``t_ns`` for road users
    present in both (those entering or leaving in between are taken from the nearer step).
    """

    def __init__(self) -> None:
        self._times: list[int] = []
        self._truths: list[GroundTruth] = []

    def __len__(self) -> int:
        return len(self._times)

    def add(self, truth: GroundTruth) -> None:
        if self._times and truth.t_ns <= self._times[-1]:
            raise ValueError("ground truth must be added in time order")
        self._times.append(truth.t_ns)
        self._truths.append(truth)

    @property
    def span_ns(self) -> tuple[int, int] | None:
        return (self._times[0], self._times[-1]) if self._times else None

    def at(self, t_ns: int) -> GroundTruth | None:
        """Ground truth at ``t_ns``; None outside the recorded span."""
        if not self._times or t_ns < self._times[0] or t_ns > self._times[-1]:
            return None
        i = bisect.bisect_left(self._times, t_ns)
        if self._times[i] == t_ns:
            return self._truths[i]
        a, b = self._truths[i - 1], self._truths[i]
        w = (t_ns - a.t_ns) / (b.t_ns - a.t_ns)
        near = a if w < 0.5 else b
        common, ia, ib = np.intersect1d(a.ids, b.ids, assume_unique=True, return_indices=True)
        if len(common) == 0:
            return GroundTruth(
                t_ns,
                near.ids,
                near.positions,
                near.velocities,
                near.headings,
                near.classes,
                near.sizes,
            )
        pos = (1 - w) * a.positions[ia] + w * b.positions[ib]
        vel = (1 - w) * a.velocities[ia] + w * b.velocities[ib]
        dh = np.angle(np.exp(1j * (b.headings[ib] - a.headings[ia])))
        head = a.headings[ia] + w * dh
        return GroundTruth(t_ns, common, pos, vel, head, a.classes[ia], a.sizes[ia])
