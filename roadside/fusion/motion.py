"""Motion models over the state ``[x, y, vx, vy, omega]`` (m, m, m/s, m/s, rad/s), vectorised.

Each model maps N states over N time steps ``dt`` (s) to the predicted states, the Jacobian of
that map (the transition matrix for a linear model) and the process noise covariance.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import numpy as np

from roadside.fusion.base import STATE_DIM, FloatArray


def _white_acceleration_noise(dt: FloatArray, accel_psd: float) -> FloatArray:
    """(N, 5, 5) continuous white-noise acceleration covariance on x/vx and y/vy.

    ``accel_psd`` is the acceleration noise's power spectral density, (m/s^2)^2 per Hz.
    """
    n = dt.shape[0]
    q = np.zeros((n, STATE_DIM, STATE_DIM))
    dt2 = dt * dt
    pp = accel_psd * dt2 * dt / 3.0
    pv = accel_psd * dt2 / 2.0
    vv = accel_psd * dt
    for p, v in ((0, 2), (1, 3)):
        q[:, p, p] = pp
        q[:, p, v] = pv
        q[:, v, p] = pv
        q[:, v, v] = vv
    return q


class MotionModel(abc.ABC):
    """How a state evolves over time."""

    name: str

    @abc.abstractmethod
    def predict(
        self, states: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Predict (N, 5) ``states`` by (N,) ``dt`` seconds (which may be negative).

        Returns the predicted states (N, 5), the Jacobians (N, 5, 5) and the process noise (N, 5, 5).
        """

    def propagate(
        self, states: FloatArray, p: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """The predicted (N, 5) states and (N, 5, 5) covariances F P F' + Q of (N, 5) ``states``
        with covariances ``p`` over (N,) ``dt`` s (a model with a sparse F may do it cheaper)."""
        x, f, q = self.predict(states, dt)
        out: FloatArray = f @ p @ f.transpose(0, 2, 1)
        out += q
        return x, out


class ConstantVelocity(MotionModel):
    """Straight-line motion at constant speed; the turn rate is forced to zero.

    ``accel_psd`` (m/s^2)^2/Hz is the acceleration noise, ``turn_psd`` (rad/s^2)^2/Hz the
    (small) noise left on the turn rate so that the mixed covariance stays positive definite.
    """

    name = "cv"

    def __init__(self, accel_psd: float = 2.0, turn_psd: float = 1e-4) -> None:
        self.accel_psd = accel_psd
        self.turn_psd = turn_psd

    def predict(
        self, states: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        n = states.shape[0]
        f = np.broadcast_to(np.eye(STATE_DIM), (n, STATE_DIM, STATE_DIM)).copy()
        f[:, 0, 2] = dt
        f[:, 1, 3] = dt
        f[:, 4, 4] = 0.0
        out = states.copy()
        out[:, 0] += dt * states[:, 2]
        out[:, 1] += dt * states[:, 3]
        out[:, 4] = 0.0
        adt = np.abs(dt)
        q = _white_acceleration_noise(adt, self.accel_psd)
        q[:, 4, 4] = self.turn_psd * adt + 1e-6
        return out, f, q

    def propagate(
        self, states: FloatArray, p: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        # F is the identity but for the two dt terms and the zeroed turn rate: row, then column,
        # operations instead of two dense products.
        x = states.copy()
        x[:, 0] += dt * states[:, 2]
        x[:, 1] += dt * states[:, 3]
        x[:, 4] = 0.0
        d = dt[:, None]
        out = p.copy()
        out[:, 0, :] += d * p[:, 2, :]
        out[:, 1, :] += d * p[:, 3, :]
        out[:, 4, :] = 0.0
        out[:, :, 0] += d * out[:, :, 2]
        out[:, :, 1] += d * out[:, :, 3]
        out[:, :, 4] = 0.0
        adt = np.abs(dt)
        out += _white_acceleration_noise(adt, self.accel_psd)
        out[:, 4, 4] += self.turn_psd * adt + 1e-6
        return x, out


class CoordinatedTurn(MotionModel):
    """Motion on a circle at constant speed and turn rate (the coordinated-turn model).

    ``accel_psd`` (m/s^2)^2/Hz is the acceleration noise, ``turn_psd`` (rad/s^2)^2/Hz the noise
    on the turn rate.
    """

    name = "ct"

    def __init__(self, accel_psd: float = 1.0, turn_psd: float = 0.05) -> None:
        self.accel_psd = accel_psd
        self.turn_psd = turn_psd

    def predict(
        self, states: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        x, y, vx, vy, w = states.T
        t = dt
        wt = w * t
        s, c = np.sin(wt), np.cos(wt)
        small = np.abs(w) < 1e-4
        # a = sin(wt)/w, b = (1 - cos(wt))/w and their derivatives in w; Taylor series near w = 0.
        inv_w = 1.0 / np.where(small, 1.0, w)
        a = s * inv_w
        b = (1.0 - c) * inv_w
        da = (t * c - a) * inv_w
        db = (t * s - b) * inv_w
        if small.any():
            ws, ts = w[small], t[small]
            a[small] = ts - ws * ws * ts**3 / 6.0
            b[small] = ws * ts * ts / 2.0 - ws**3 * ts**4 / 24.0
            da[small] = -ws * ts**3 / 3.0
            db[small] = ts * ts / 2.0 - ws * ws * ts**4 / 8.0
        n = states.shape[0]
        out = np.empty_like(states)
        out[:, 0] = x + a * vx - b * vy
        out[:, 1] = y + b * vx + a * vy
        out[:, 2] = c * vx - s * vy
        out[:, 3] = s * vx + c * vy
        out[:, 4] = w
        f = np.zeros((n, STATE_DIM, STATE_DIM))
        f[:, 0, 0] = 1.0
        f[:, 1, 1] = 1.0
        f[:, 4, 4] = 1.0
        f[:, 0, 2], f[:, 0, 3], f[:, 0, 4] = a, -b, da * vx - db * vy
        f[:, 1, 2], f[:, 1, 3], f[:, 1, 4] = b, a, db * vx + da * vy
        f[:, 2, 2], f[:, 2, 3], f[:, 2, 4] = c, -s, -t * s * vx - t * c * vy
        f[:, 3, 2], f[:, 3, 3], f[:, 3, 4] = s, c, t * c * vx - t * s * vy
        adt = np.abs(dt)
        q = _white_acceleration_noise(adt, self.accel_psd)
        q[:, 4, 4] = self.turn_psd * adt + 1e-6
        return out, f, q

    def propagate(
        self, states: FloatArray, p: FloatArray, dt: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        if not dt.any():
            # F is the identity and Q only the turn rate's floor when no time passes.
            out = p.copy()
            out[:, 4, 4] += 1e-6
            return states.copy(), out
        return super().propagate(states, p, dt)


# name -> factory(accel_psd, turn_psd)
REGISTRY: dict[str, Callable[[float, float], MotionModel]] = {
    ConstantVelocity.name: ConstantVelocity,
    CoordinatedTurn.name: CoordinatedTurn,
}
