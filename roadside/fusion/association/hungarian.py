"""Global nearest neighbour: the assignment of least total cost, among gated pairs only.

The cost of a pair is its squared Mahalanobis distance plus the log-determinant of its innovation
covariance (the negative log-likelihood up to a constant); pairs outside the gate are forbidden.
Solved with ``scipy.optimize.linear_sum_assignment`` on the rows and columns that have at least
one gated pair.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from roadside.fusion.association.base import Assignment, Associator
from roadside.fusion.association.gating import candidate_pairs, chi2_gate_2d
from roadside.fusion.base import FloatArray

_FORBIDDEN = 1e9


class GlobalNearestNeighbour(Associator):
    """GNN with Mahalanobis gating at ``gate_probability`` (the share of true measurements kept)."""

    name = "hungarian"

    def __init__(self, gate_probability: float = 0.999) -> None:
        self.gate_d2 = chi2_gate_2d(gate_probability)

    def associate(
        self,
        track_positions: FloatArray,
        track_covariances: FloatArray,
        positions: FloatArray,
        covariances: FloatArray,
    ) -> Assignment:
        n, k = track_positions.shape[0], positions.shape[0]
        if n == 0 or k == 0:
            return Assignment.none(k)
        rows, cols, d2, logdet = candidate_pairs(
            track_positions, track_covariances, positions, covariances, self.gate_d2
        )
        gated: npt.NDArray[np.bool_] = np.zeros(k, dtype=bool)
        if rows.size == 0:
            return Assignment(rows, cols, gated)
        gated[cols] = True
        # A pair whose track gates no other measurement and whose measurement falls in no other
        # gate is its own part of the problem: always assigned. Only the rest needs solving.
        row_count = np.bincount(rows, minlength=n)
        col_count = np.bincount(cols, minlength=k)
        alone = (row_count[rows] == 1) & (col_count[cols] == 1)
        out_r, out_c = rows[alone], cols[alone]
        if alone.all():
            return Assignment(out_r, out_c, gated)
        rest = ~alone
        rows, cols, cost_rc = rows[rest], cols[rest], (d2 + logdet)[rest]
        urows, ri = np.unique(rows, return_inverse=True)
        ucols, ci = np.unique(cols, return_inverse=True)
        cost = np.full((urows.size, ucols.size), _FORBIDDEN)
        cost[ri, ci] = cost_rc
        allowed = np.zeros(cost.shape, dtype=bool)
        allowed[ri, ci] = True
        r, c = linear_sum_assignment(cost)
        ok = allowed[r, c]
        return Assignment(
            np.concatenate([out_r, urows[r[ok]]]), np.concatenate([out_c, ucols[c[ok]]]), gated
        )
