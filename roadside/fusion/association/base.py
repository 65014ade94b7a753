"""The association stage's interface: which measurement belongs to which track."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from roadside.fusion.base import FloatArray, IntArray


@dataclass(frozen=True, eq=False)
class Assignment:
    """Pairs (``tracks[i]``, ``measurements[i]``) of row indices; ``gated`` (K,) tells which
    measurements fell inside the gate of at least one track (assigned or not)."""

    tracks: IntArray
    measurements: IntArray
    gated: npt.NDArray[np.bool_]

    @staticmethod
    def none(k: int) -> Assignment:
        e = np.zeros(0, dtype=np.int64)
        return Assignment(e, e, np.zeros(k, dtype=bool))


class Associator(abc.ABC):
    """Assigns measurements to predicted tracks."""

    @abc.abstractmethod
    def associate(
        self,
        track_positions: FloatArray,
        track_covariances: FloatArray,
        positions: FloatArray,
        covariances: FloatArray,
    ) -> Assignment:
        """Assign (K, 2) ``positions`` with (K, 2, 2) ``covariances`` (m, m^2, ENU) to tracks
        predicted to the measurement time at (N, 2) ``track_positions`` with (N, 2, 2)
        ``track_covariances``; each track and each measurement is used at most once."""
