"""The track-management stage's interface: when a track is confirmed and when it is deleted."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from roadside.fusion.base import FloatArray
from roadside.fusion.tracks import Tracks


@dataclass(frozen=True, eq=False)
class Verdict:
    """A scan's outcome for N tracks: which became ``confirmed`` (N,) by it and which are to be
    ``deleted`` (N,)."""

    confirmed: npt.NDArray[np.bool_]
    deleted: npt.NDArray[np.bool_]


class TrackManager(abc.ABC):
    """Confirms and deletes tracks from their hits and misses (``Tracks.hits``, ``chances``,
    ``confirmed`` are its to write)."""

    @abc.abstractmethod
    def start(self, tracks: Tracks) -> None:
        """Set the management state of ``tracks`` just born (one hit in one opportunity)."""

    @abc.abstractmethod
    def update(
        self,
        tracks: Tracks,
        hit: npt.NDArray[np.bool_],
        covered: npt.NDArray[np.bool_],
        sensor_bit: int,
    ) -> Verdict:
        """Record one scan of the sensor ``sensor_bit``: (N,) which tracks a measurement updated
        (``hit``) and which the scan could have seen (``covered``); confirm the tracks that have
        made it (in ``tracks``) and tell which to delete (the caller deletes them)."""

    @abc.abstractmethod
    def expire(self, tracks: Tracks, now_ns: int) -> npt.NDArray[np.bool_]:
        """(N,) the tracks to delete at ``now_ns`` (ns) because nothing has updated them."""

    @abc.abstractmethod
    def existence(self, tracks: Tracks) -> FloatArray:
        """(N,) each track's probability of existence, in [0, 1]."""
