"""M-of-N track management.

A tentative track is confirmed with ``confirm_m`` hits in its last ``confirm_n`` opportunities
(scans whose coverage holds it), and deleted when it has not made it after ``confirm_n``. A
confirmed track is deleted after ``delete_m`` misses in its last ``delete_n`` opportunities, or
when nothing has updated it for ``max_coast_s``. A confirmed track is missed only by a sensor
that has seen it: one that never has may not see it where it is (cut off, occluded, too small)
and tells nothing. Existence is the share of hits in the last ``confirm_n`` opportunities.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from roadside.fusion.base import FloatArray, IntArray
from roadside.fusion.config import TrackerConfig
from roadside.fusion.management.base import TrackManager, Verdict
from roadside.fusion.tracks import Tracks
from vicoop.model import NS_PER_S

_POP16 = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.int64)


def popcount(v: IntArray) -> IntArray:
    """Number of set bits of each (non-negative, < 2**32) value."""
    out: IntArray = _POP16[v & 0xFFFF] + _POP16[(v >> 16) & 0xFFFF]
    return out


class MOfN(TrackManager):
    """See the module docstring; the windows are at most 32 opportunities."""

    name = "m-of-n"

    def __init__(
        self,
        confirm_m: int = 3,
        confirm_n: int = 4,
        delete_m: int = 6,
        delete_n: int = 8,
        max_coast_s: float = 1.0,
    ) -> None:
        if not 1 <= confirm_m <= confirm_n <= 32 or not 1 <= delete_m <= delete_n <= 32:
            raise ValueError("M-of-N needs 1 <= m <= n <= 32 for confirmation and deletion")
        self.confirm_m, self.confirm_n = confirm_m, confirm_n
        self.delete_m, self.delete_n = delete_m, delete_n
        self.max_coast_ns = round(max_coast_s * NS_PER_S)
        self._confirm_mask = (1 << confirm_n) - 1
        self._delete_mask = (1 << delete_n) - 1
        self._history_mask = (1 << max(confirm_n, delete_n)) - 1

    @classmethod
    def from_config(cls, config: TrackerConfig) -> MOfN:
        """The manager with ``config``'s M-of-N windows and ``max_coast_s``."""
        return cls(
            config.confirm_m, config.confirm_n, config.delete_m, config.delete_n, config.max_coast_s
        )

    def start(self, tracks: Tracks) -> None:
        b = len(tracks)
        tracks.hits = np.ones(b, dtype=np.int64)
        tracks.chances = np.ones(b, dtype=np.int64)
        tracks.confirmed = np.full(b, self.confirm_m <= 1)

    def update(
        self,
        tracks: Tracks,
        hit: npt.NDArray[np.bool_],
        covered: npt.NDArray[np.bool_],
        sensor_bit: int,
    ) -> Verdict:
        chance = covered & (hit | ~tracks.confirmed | ((tracks.sensors & sensor_bit) != 0))
        tracks.hits = np.where(chance, ((tracks.hits << 1) | hit) & self._history_mask, tracks.hits)
        tracks.chances = tracks.chances + chance
        tentative = ~tracks.confirmed
        confirm = tentative & (popcount(tracks.hits & self._confirm_mask) >= self.confirm_m)
        tracks.confirmed = tracks.confirmed | confirm
        failed = tentative & ~confirm & (tracks.chances >= self.confirm_n)
        window = np.minimum(tracks.chances, self.delete_n)
        misses = window - popcount(tracks.hits & self._delete_mask)
        lost = tracks.confirmed & (misses >= self.delete_m)
        return Verdict(confirm, failed | lost)

    def expire(self, tracks: Tracks, now_ns: int) -> npt.NDArray[np.bool_]:
        stale: npt.NDArray[np.bool_] = (now_ns - tracks.last_hit_ns) > self.max_coast_ns
        return stale

    def existence(self, tracks: Tracks) -> FloatArray:
        hits = popcount(tracks.hits & self._confirm_mask)
        share = hits / np.maximum(np.minimum(tracks.chances, self.confirm_n), 1)
        out: FloatArray = np.clip(share, 0.0, 1.0)
        return out
