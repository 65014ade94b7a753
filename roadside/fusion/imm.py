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


def measurement_model(x: FloatArray, m: int, sensor_position: tuple[float, float]) -> tuple[FloatArray, FloatArray]:
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
        pi = np.broadcast_to(off[:, None, None], (dt.shape[0], r, r)).copy()
        idx = np.arange(r)
        pi[:, idx, idx] = stay[:, None]
        return pi

    def mix_predict(
        self, x: FloatArray, p: FloatArray, mu: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mix the models' estimates and predict each by ``dt`` (N,) seconds.

        Returns the predicted (N, r, 5) states, (N, r, 5, 5) covariances and (N, r) predicted
        model probabilities.
        """
        n = x.shape[0]
        pi = self.transition(dt)
        c = np.einsum("nij,ni->nj", pi, mu)
        w = pi * mu[:, :, None] / np.maximum(c[:, None, :], 1e-300)
        x0 = np.einsum("nij,nik->njk", w, x)
        d = x[:, :, None, :] - x0[:, None, :, :]
        p0 = np.einsum("nij,nikl->njkl", w, p) + np.einsum("nij,nijk,nijl->njkl", w, d, d)
        xp = np.empty_like(x0)
        pp = np.empty_like(p0)
        for j, model in enumerate(self.models):
            xj, f, q = model.predict(x0[:, j], dt)
            xp[:, j] = xj
            pp[:, j] = f @ p0[:, j] @ f.transpose(0, 2, 1) + q
        if n == 0:
            return xp, pp, c
        return xp, pp, c

    @staticmethod
    def combine(x: FloatArray, p: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The moment-matched (N, 5) state and (N, 5, 5) covariance of the model mixture."""
        xc = np.einsum("nj,njk->nk", mu, x)
        d = x - xc[:, None, :]
        pc = np.einsum("nj,njkl->nkl", mu, p) + np.einsum("nj,njk,njl->nkl", mu, d, d)
        return xc, pc

    def update(
        self, x: FloatArray, p: FloatArray, c: FloatArray, meas: Measurements
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Update B tracks' predicted models (x (B, r, 5), p (B, r, 5, 5), c (B, r)) with one
        measurement each; returns the updated states, covariances and model probabilities."""
        m = meas.z.shape[1]
        hx, h = measurement_model(x, m, meas.sensor_position)
        ht = np.swapaxes(h, -1, -2)
        s = h @ p @ ht + meas.r[:, None]
        s = 0.5 * (s + np.swapaxes(s, -1, -2))
        s_inv = np.linalg.inv(s)
        y = meas.z[:, None, :] - hx
        k = p @ ht @ s_inv
        x_new = x + np.einsum("brij,brj->bri", k, y)
        i_kh = np.eye(STATE_DIM) - k @ h
        p_new = i_kh @ p @ np.swapaxes(i_kh, -1, -2) + k @ meas.r[:, None] @ np.swapaxes(k, -1, -2)
        d2 = np.einsum("bri,brij,brj->br", y, s_inv, y)
        _, logdet = np.linalg.slogdet(s)
        loglik = -0.5 * (d2 + logdet + m * math.log(2.0 * math.pi))
        logw = np.log(np.maximum(c, 1e-300)) + loglik
        logw -= logw.max(axis=1, keepdims=True)
        mu = np.exp(logw)
        mu /= mu.sum(axis=1, keepdims=True)
        mu = np.maximum(mu, _MU_FLOOR)
        mu /= mu.sum(axis=1, keepdims=True)
        return x_new, p_new, mu
