"""Tracks' footprints in the ground plane: what a measurement model needs of their shape."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from roadside.fusion.base import (
    CLASS_SIZE_TABLE,
    CLASSES,
    N_CLASSES,
    Coverage,
    FloatArray,
    IntArray,
)
from roadside.fusion.tracks import HEADING_SPEED_MPS, Tracks
from vicoop.model import ObjectClass

_UNKNOWN_LW = CLASS_SIZE_TABLE[CLASSES.index(ObjectClass.UNKNOWN), :2]
# A track's measured scatter counts after this many measurements.
SCATTER_MIN_N = 10


def lengths_widths(
    class_p: FloatArray, size_sum: FloatArray, size_n: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(N, 2) m footprint lengths and widths of N tracks with (N, classes) beliefs ``class_p``
    and (N, 3) measured size sums ``size_sum`` over ``size_n`` measurements: as measured, else
    expected under the class belief, else an unknown object's; and (N, classes) the class belief
    where the size comes from it, else zeros."""
    informed = class_p.max(axis=1) > 2.0 / N_CLASSES
    lw = np.where(informed[:, None], class_p @ CLASS_SIZE_TABLE[:, :2], _UNKNOWN_LW)
    measured = size_n[:, :2] > 0
    out: FloatArray = np.where(measured, size_sum[:, :2] / np.maximum(size_n[:, :2], 1), lw)
    mix: FloatArray = np.where((informed & ~measured.any(axis=1))[:, None], class_p, 0.0)
    return out, mix


@dataclass(frozen=True, slots=True)
class Footprint:
    """N tracks' footprints: ``lw`` (N, 2) length and width m (see ``lengths_widths``),
    ``heading`` (N,) rad and whether that is known (``heading_known``: the track moves),
    ``scatter`` (N, 2) m^2 the spread of point measurements along and across the heading that
    the track has shown (zero until it has shown enough), and ``mix`` (N, classes) the class
    belief where the size is the class's (not measured, not unknown), else zeros: a near-side
    centre is placed with the offsets of all classes so weighted."""

    lw: FloatArray
    heading: FloatArray
    heading_known: npt.NDArray[np.bool_]
    scatter: FloatArray
    mix: FloatArray

    @staticmethod
    def of(tracks: Tracks, states: FloatArray) -> Footprint:
        """The footprints of ``tracks`` at their (N, 5) combined ``states``."""
        lw, mix = lengths_widths(tracks.class_p, tracks.size_sum, tracks.size_n)
        speed = np.hypot(states[:, 2], states[:, 3])
        known = speed > HEADING_SPEED_MPS
        heading = np.where(known, np.arctan2(states[:, 3], states[:, 2]), tracks.heading)
        scatter = np.where(
            (tracks.scatter_n >= SCATTER_MIN_N)[:, None], np.maximum(tracks.scatter, 0.0), 0.0
        )
        return Footprint(lw, heading, known, scatter, mix)

    def classified(self, tracks: Tracks, rows: IntArray) -> Footprint:
        """These footprints after the class belief of ``tracks`` ``rows`` changed."""
        lw, mix = self.lw.copy(), self.mix.copy()
        lw[rows], mix[rows] = lengths_widths(
            tracks.class_p[rows], tracks.size_sum[rows], tracks.size_n[rows]
        )
        return dataclasses.replace(self, lw=lw, mix=mix)

    def inside(self, centres: FloatArray, coverage: Coverage) -> npt.NDArray[np.bool_]:
        """Whether each whole footprint (its four corners; a square of its length where the
        heading is not known) about the (N, 2) ``centres`` m is inside ``coverage``."""
        half = 0.5 * np.where(
            self.heading_known[:, None], self.lw, self.lw.max(axis=1, keepdims=True)
        )
        heading = np.where(self.heading_known, self.heading, 0.0)
        c, s = np.cos(heading), np.sin(heading)
        inside = np.ones(centres.shape[0], dtype=bool)
        for sl, sw in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            dx, dy = sl * half[:, 0], sw * half[:, 1]
            corner = centres + np.column_stack([c * dx - s * dy, s * dx + c * dy])
            inside &= coverage.contains(corner)
        return inside

    def extent_covariances(self, fraction: float) -> FloatArray:
        """(N, 2, 2) m^2: a point spread with ``fraction`` of the length along the heading and of
        the width across it, or as much as the track's scatter showed (isotropic, their mean,
        where the heading is not known)."""
        # The spread the track's size implies, or more when its measurements have shown more
        # (a bus whose class no camera has told yet).
        a = np.maximum((fraction * self.lw[:, 0]) ** 2, self.scatter[:, 0])
        b = np.maximum((fraction * self.lw[:, 1]) ** 2, self.scatter[:, 1])
        c, s = np.cos(self.heading), np.sin(self.heading)
        cov = np.empty((a.shape[0], 2, 2))
        cov[:, 0, 0] = a * c * c + b * s * s
        cov[:, 1, 1] = a * s * s + b * c * c
        cov[:, 0, 1] = cov[:, 1, 0] = (a - b) * c * s
        iso = ~self.heading_known
        if iso.any():
            m = 0.5 * (a[iso] + b[iso])
            cov[iso] = m[:, None, None] * np.eye(2)
        return cov


__all__ = ["SCATTER_MIN_N", "Footprint", "lengths_widths"]
