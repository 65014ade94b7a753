"""An interacting multiple model (IMM) filter bank, vectorised over tracks.

Arrays: ``x`` (N, r, 5) per-model states, ``p`` (N, r, 5, 5) their covariances, ``mu`` (N, r)
model probabilities, for N tracks and r motion models. Mode switches follow a continuous-time
Markov chain: a model is kept for ``mean_sojourn_s`` on average, and a switch goes to any other
model with equal probability. Measurements are extended-Kalman updates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roadside.fusion.base import STATE_DIM, FloatArray
from roadside.fusion.motion import MotionModel

_MU_FLOOR = 1e-4


@dataclass(frozen=True, eq=False)
class Measurements:
    """B measurements for B track rows: ``z`` (B, m), ``r`` (B, m, m); with m = 3 the third
    component is the radial speed (m/s, positive away) seen from ``sensor_position`` (x, y) m."""

    z: FloatArray
    r: FloatArray
    sensor_position: tuple[float, float] = (0.0, 0.0)


def measurement_model(
    x: FloatArray, m: int, sensor_position: tuple[float, float]
) -> tuple[FloatArray, FloatArray]:
    """Predicted measurements (..., m) and Jacobians (..., m, 5) of states ``x`` (..., 5).

    m = 2: position (x, y); m = 3: position and radial speed from ``sensor_position``.
    """
    shape = x.shape[:-1]
    h = np.zeros((*shape, m, STATE_DIM))
    h[..., 0, 0] = 1.0
    h[..., 1, 1] = 1.0
    hx = np.empty((*shape, m))
    hx[..., 0] = x[..., 0]
    hx[..., 1] = x[..., 1]
    if m == 3:
        dx = x[..., 0] - sensor_position[0]
        dy = x[..., 1] - sensor_position[1]
        rho = np.maximum(np.hypot(dx, dy), 1e-3)
        vr = (x[..., 2] * dx + x[..., 3] * dy) / rho
        hx[..., 2] = vr
        h[..., 2, 0] = (x[..., 2] - vr * dx / rho) / rho
        h[..., 2, 1] = (x[..., 3] - vr * dy / rho) / rho
        h[..., 2, 2] = dx / rho
        h[..., 2, 3] = dy / rho
    return hx, h


class ImmFilter:
    """Mixing, prediction, update and combination for r motion models at once."""

    def __init__(self, models: Sequence[MotionModel], mean_sojourn_s: float = 2.0) -> None:
        if not models:
            raise ValueError("an IMM needs at least one motion model")
        self.models = tuple(models)
        self.mean_sojourn_s = mean_sojourn_s

    @property
    def r(self) -> int:
        return len(self.models)

    def transition(self, dt: FloatArray) -> FloatArray:
        """(N, r, r) mode transition probabilities over (N,) ``dt`` seconds."""
        r = self.r
        if r == 1:
            return np.ones((dt.shape[0], 1, 1))
        stay = np.exp(-np.abs(dt) / self.mean_sojourn_s)
        off = (1.0 - stay) / (r - 1)
        pi: FloatArray = off[:, None, None] + (stay - off)[:, None, None] * np.eye(r)
        return pi

    def mix_predict(
        self, x: FloatArray, p: FloatArray, mu: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mix the models' estimates and predict each by ``dt`` (N,) seconds.

        Returns the predicted (N, r, 5) states, (N, r, 5, 5) covariances and (N, r) predicted
        model probabilities.
        """
        n, r = mu.shape
        if r == 1:
            x0, p0, c = x, p, mu.copy()
        elif not dt.any():
            # No time passes: the mode stays (the transition matrix is the identity), and mixing
            # gives back each model's own estimate.
            x0, p0, c = x, p, mu.copy()
        else:
            pi = self.transition(dt)
            c = (pi * mu[:, :, None]).sum(axis=1)
            w = pi * mu[:, :, None] / np.maximum(c[:, None, :], 1e-300)  # (N, i, j)
            wt = w.transpose(0, 2, 1)
            x0 = wt @ x
            # sum_i w_ij (P_i + d_ij d_ij'), d_ij = x_i - x0_j, as batched matrix products.
            p0 = (wt @ p.reshape(n, r, STATE_DIM * STATE_DIM)).reshape(p.shape)
            if r == 2:
                # With two models d_0j = w_1j e and d_1j = -w_0j e, e = x_0 - x_1, and the
                # weights sum to one: the spread is w_0j w_1j e e'.
                e = x[:, 0] - x[:, 1]
                ee = e[:, :, None] * e[:, None, :]
                p0 += (w[:, 0] * w[:, 1])[:, :, None, None] * ee[:, None]
            else:
                d = x[:, :, None, :] - x0[:, None, :, :]  # (N, i, j, 5)
                wd = w[..., None] * d
                p0 += wd.transpose(0, 2, 3, 1) @ d.transpose(0, 2, 1, 3)
        xp = np.empty_like(x0)
        pp = np.empty_like(p0)
        for j, model in enumerate(self.models):
            xp[:, j], pp[:, j] = model.propagate(x0[:, j], p0[:, j], dt)
        return xp, pp, c

    @staticmethod
    def combine(x: FloatArray, p: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The moment-matched (N, 5) state and (N, 5, 5) covariance of the model mixture."""
        n, r = mu.shape
        xc = (mu[:, None, :] @ x)[:, 0]
        if r == 2:
            e = x[:, 0] - x[:, 1]
            pc = mu[:, 0, None, None] * p[:, 0] + mu[:, 1, None, None] * p[:, 1]
            pc += (mu[:, 0] * mu[:, 1])[:, None, None] * (e[:, :, None] * e[:, None, :])
            return xc, pc
        d = x - xc[:, None, :]
        md = mu[:, :, None] * d
        pc = (mu[:, None, :] @ p.reshape(n, r, STATE_DIM * STATE_DIM)).reshape(
            n, STATE_DIM, STATE_DIM
        )
        pc += md.transpose(0, 2, 1) @ d
        return xc, pc

    def update(
        self, x: FloatArray, p: FloatArray, c: FloatArray, meas: Measurements
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Update B tracks' predicted models (x (B, r, 5), p (B, r, 5, 5), c (B, r)) with one
        measurement each; returns the updated states, covariances and model probabilities."""
        m = meas.z.shape[1]
        hx, h = measurement_model(x, m, meas.sensor_position)
        # H's first two rows pick the position; only a radial speed's row is dense.
        ph = np.empty((*p.shape[:-1], m))  # P H', (B, r, 5, m)
        ph[..., :2] = p[..., :2]
        s = np.empty((*p.shape[:-2], m, m))
        if m == 3:
            h2 = h[..., 2, :]
            ph[..., 2] = np.einsum("...ij,...j->...i", p, h2)
            s[..., 2, :] = np.einsum("...i,...ij->...j", h2, ph)
        s[..., :2, :] = ph[..., :2, :]
        s += meas.r[:, None]
        s_inv, logdet = _inverse_sym(s)
        y = meas.z[:, None, :] - hx
        k = ph @ s_inv
        x_new = x + np.einsum("...ij,...j->...i", k, y)
        # P - K S K' = P - K H P; symmetrised against round-off.
        p_new = p - k @ np.swapaxes(ph, -1, -2)
        p_new = 0.5 * (p_new + np.swapaxes(p_new, -1, -2))
        d2 = np.einsum("...i,...ij,...j->...", y, s_inv, y)
        loglik = -0.5 * (d2 + logdet + m * math.log(2.0 * math.pi))
        logw = np.log(np.maximum(c, 1e-300)) + loglik
        logw -= logw.max(axis=1, keepdims=True)
        mu = np.exp(logw)
        mu /= mu.sum(axis=1, keepdims=True)
        mu = np.maximum(mu, _MU_FLOOR)
        mu /= mu.sum(axis=1, keepdims=True)
        return x_new, p_new, mu


def _inverse_sym(s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverses and log-determinants of symmetric positive definite (..., m, m) matrices; closed
    form (cofactors) for m = 2 and 3, which is all a ground-plane tracker needs."""
    m = s.shape[-1]
    if m == 2:
        a, b, d = s[..., 0, 0], 0.5 * (s[..., 0, 1] + s[..., 1, 0]), s[..., 1, 1]
        det = a * d - b * b
        inv = np.empty_like(s)
        inv[..., 0, 0] = d
        inv[..., 1, 1] = a
        inv[..., 0, 1] = inv[..., 1, 0] = -b
    elif m == 3:
        a, d, f = s[..., 0, 0], s[..., 1, 1], s[..., 2, 2]
        b = 0.5 * (s[..., 0, 1] + s[..., 1, 0])
        c = 0.5 * (s[..., 0, 2] + s[..., 2, 0])
        e = 0.5 * (s[..., 1, 2] + s[..., 2, 1])
        ca, cb, cc = d * f - e * e, c * e - b * f, b * e - c * d
        det = a * ca + b * cb + c * cc
        inv = np.empty_like(s)
        inv[..., 0, 0] = ca
        inv[..., 1, 1] = a * f - c * c
        inv[..., 2, 2] = a * d - b * b
        inv[..., 0, 1] = inv[..., 1, 0] = cb
        inv[..., 0, 2] = inv[..., 2, 0] = cc
        inv[..., 1, 2] = inv[..., 2, 1] = b * c - a * e
    else:
        sym = 0.5 * (s + np.swapaxes(s, -1, -2))
        sign_logdet = np.linalg.slogdet(sym)
        return np.linalg.inv(sym).astype(np.float64), sign_logdet[1].astype(np.float64)
    inv /= det[..., None, None]
    return inv, np.log(det)
