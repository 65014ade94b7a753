"""The measurement-model stage's interface: what a scan should see of the tracks, and the
measurements a track is updated with."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from roadside.fusion.base import FloatArray, IntArray, Scan
from roadside.fusion.imm import Measurements
from roadside.fusion.measurement.footprint import Footprint
from roadside.fusion.tracks import Tracks


@dataclass(frozen=True, eq=False)
class Expected:
    """What a scan should see of N tracks predicted to its time.

    ``states`` (N, 5) and ``covariances`` (N, 5, 5) are the tracks' combined predictions;
    ``gate_covariances`` (N, 2, 2) m^2 the spread of each track's predicted position measurement
    (its uncertainty, and where on the object the sensor's point may lie), for association;
    ``footprint`` the tracks' shapes where the scan's model needs them, and ``spread``
    (N, 2, 2) m^2 where on each object a point measurement lies, when the scan's positions are
    such points.
    """

    states: FloatArray
    covariances: FloatArray
    gate_covariances: FloatArray
    footprint: Footprint | None = None
    spread: FloatArray | None = None


class MeasurementModel(abc.ABC):
    """How a scan's measurements relate to the tracks' states."""

    @abc.abstractmethod
    def expect(
        self, tracks: Tracks, scan: Scan, states: FloatArray, covariances: FloatArray
    ) -> Expected:
        """What ``scan`` should see of ``tracks`` predicted to its time at (N, 5) ``states``
        with (N, 5, 5) ``covariances``."""

    @abc.abstractmethod
    def classified(self, expected: Expected, tracks: Tracks, rows: IntArray) -> Expected:
        """``expected`` after the class belief of ``tracks`` ``rows`` changed (a class tells
        an object's size)."""

    @abc.abstractmethod
    def measurements(
        self, expected: Expected, scan: Scan, rows: IntArray, cols: IntArray
    ) -> Measurements:
        """The measurements of ``scan``'s rows ``cols`` for an update of the tracks ``rows``."""

    @abc.abstractmethod
    def covered(self, expected: Expected, scan: Scan) -> npt.NDArray[np.bool_]:
        """(N,) which tracks ``scan`` would have seen, had they been where predicted."""

    @abc.abstractmethod
    def learn(
        self,
        tracks: Tracks,
        scan: Scan,
        rows: IntArray,
        cols: IntArray,
        expected: Expected | None,
    ) -> None:
        """Fold what ``scan``'s rows ``cols`` tell of the shapes of ``tracks`` ``rows`` (updated
        by them, or, with ``expected`` None, started from them) into those tracks."""
