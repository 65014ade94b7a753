"""Mahalanobis gating in the ground plane, vectorised over every track-measurement pair."""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.spatial import cKDTree

from roadside.fusion.base import FloatArray, IntArray

# Measurements looked up per track in one vectorised k-d tree query.
_NEAREST = 4
# Up to this many track-measurement pairs, all are tested without a k-d tree.
_DENSE_PAIRS = 4096


def chi2_gate_2d(probability: float) -> float:
    """The squared Mahalanobis distance that holds ``probability`` of a 2-D Gaussian.

    For two degrees of freedom the chi-square CDF is 1 - exp(-d2/2), so d2 = -2 ln(1 - p).
    """
    if not 0.0 < probability < 1.0:
        raise ValueError(f"gate probability must be in (0, 1), got {probability}")
    return -2.0 * math.log1p(-probability)


def mahalanobis_2d(
    track_positions: FloatArray,
    track_covariances: FloatArray,
    positions: FloatArray,
    covariances: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """(N, K) squared Mahalanobis distances and log-determinants of the innovation covariance
    S = P_track + R_measurement, for every track (rows) and measurement (columns)."""
    a = track_covariances[:, None, 0, 0] + covariances[None, :, 0, 0]
    b = track_covariances[:, None, 0, 1] + covariances[None, :, 0, 1]
    c = track_covariances[:, None, 1, 1] + covariances[None, :, 1, 1]
    det = np.maximum(a * c - b * b, 1e-12)
    dx = positions[None, :, 0] - track_positions[:, None, 0]
    dy = positions[None, :, 1] - track_positions[:, None, 1]
    d2 = (c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / det
    return d2, np.log(det)


def candidate_pairs(
    track_positions: FloatArray,
    track_covariances: FloatArray,
    positions: FloatArray,
    covariances: FloatArray,
    gate_d2: float,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """The track-measurement pairs inside the Mahalanobis gate, found without the dense matrix
    (unless it is small).

    A k-d tree over the measurements gives each track the measurements within the Euclidean
    radius that bounds its gate (sqrt(gate_d2 * (largest eigenvalue of P + largest of any R)));
    only those pairs get the exact Mahalanobis test. Returns the rows, columns, squared distances
    and log-determinants of the gated pairs.
    """

    def max_eig(c: FloatArray) -> FloatArray:
        a, b, d = c[:, 0, 0], c[:, 0, 1], c[:, 1, 1]
        out: FloatArray = 0.5 * (a + d) + np.sqrt(0.25 * (a - d) ** 2 + b * b)
        return out

    n, k = track_positions.shape[0], positions.shape[0]
    if n * k <= _DENSE_PAIRS:
        # A small problem: every pair's exact test costs less than building a tree.
        d2_all, logdet_all = mahalanobis_2d(
            track_positions, track_covariances, positions, covariances
        )
        r_all, c_all = np.nonzero(d2_all <= gate_d2)
        return r_all, c_all, d2_all[r_all, c_all], logdet_all[r_all, c_all]
    radius = np.sqrt(gate_d2 * (max_eig(track_covariances) + max_eig(covariances).max()))
    tree = cKDTree(positions)
    # The few nearest measurements of every track at once (no Python list per track); a track
    # whose _NEAREST-th nearest is still inside its radius may have more, and is asked again.
    nearest = min(_NEAREST, k)
    dist, idx = tree.query(track_positions, k=nearest, distance_upper_bound=float(radius.max()))
    dist, idx = dist.reshape(n, nearest), idx.reshape(n, nearest)
    inside = dist <= radius[:, None]
    rows, which = np.nonzero(inside)
    cols = idx[rows, which].astype(np.int64)
    crowded = np.flatnonzero(inside[:, -1]) if nearest < k else np.zeros(0, np.int64)
    if crowded.size:
        hits = tree.query_ball_point(
            track_positions[crowded], r=radius[crowded], return_sorted=False
        )
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        keep = ~np.isin(rows, crowded)
        rows = np.concatenate([rows[keep], np.repeat(crowded, counts)])
        cols = np.concatenate(
            [
                cols[keep],
                np.fromiter(itertools.chain.from_iterable(hits), np.int64, int(counts.sum())),
            ]
        )
    tc, mc = track_covariances[rows], covariances[cols]
    a = tc[:, 0, 0] + mc[:, 0, 0]
    b = tc[:, 0, 1] + mc[:, 0, 1]
    c = tc[:, 1, 1] + mc[:, 1, 1]
    det = np.maximum(a * c - b * b, 1e-12)
    dx = positions[cols, 0] - track_positions[rows, 0]
    dy = positions[cols, 1] - track_positions[rows, 1]
    d2 = (c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / det
    ok = d2 <= gate_d2
    return rows[ok], cols[ok], d2[ok], np.log(det[ok])
