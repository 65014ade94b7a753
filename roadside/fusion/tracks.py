"""The tracker's tracks, confirmed or not, as arrays over N: what every part of a tracker reads
and writes, and what late-measurement replay copies.

Frames and units as in ``roadside.fusion.base``; r is the number of the IMM's motion models.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from roadside.fusion.base import N_CLASSES, STATE_DIM, FloatArray, IntArray

# Below this speed (m/s) a track's velocity does not tell its heading.
HEADING_SPEED_MPS = 0.5
# Fields that fusing a scan replaces by new arrays and never writes into: a copy for replay may
# share them (they are the bulk of the tracks: the models' covariances).
_REPLACED_WHOLE = frozenset({"x", "p", "mu"})


@dataclass
class Tracks:
    """N tracks over ``r`` motion models.

    ``ids`` (N,) track ids; ``x`` (N, r, 5) and ``p`` (N, r, 5, 5) each model's state and
    covariance, ``mu`` (N, r) the model probabilities, ``t_ns`` (N,) the time they are valid at;
    ``last_hit_ns`` (N,) when a measurement last updated each track. Track management:
    ``hits`` (N,) the hit history of the latest opportunities as bits (newest lowest),
    ``chances`` (N,) how many opportunities there were, ``confirmed`` (N,). Attributes:
    ``class_p`` (N, classes) the class belief, ``size_sum`` and ``size_n`` (N, 3) the sum and
    count of measured (length, width, height) m, ``heading`` (N,) rad (kept while the track
    stands still), ``sensors`` (N,) a bit per sensor that has updated the track, and
    ``scatter`` (N, 2) m^2 the spread of point measurements (a radar's reflections) about the
    track along and across its heading beyond what the filter predicts: a running mean over
    ``scatter_n`` (N,) measurements.
    """

    r: int
    ids: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    x: FloatArray = field(init=False)
    p: FloatArray = field(init=False)
    mu: FloatArray = field(init=False)
    t_ns: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_hit_ns: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    hits: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    chances: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    confirmed: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    class_p: FloatArray = field(init=False)
    size_sum: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    size_n: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    heading: FloatArray = field(default_factory=lambda: np.zeros(0))
    sensors: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    scatter: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    scatter_n: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        self.x = np.zeros((0, self.r, STATE_DIM))
        self.p = np.zeros((0, self.r, STATE_DIM, STATE_DIM))
        self.mu = np.zeros((0, self.r))
        self.class_p = np.zeros((0, N_CLASSES))

    @staticmethod
    def start(
        ids: IntArray, x: FloatArray, p: FloatArray, r: int, t_ns: int, sensor_bit: int
    ) -> Tracks:
        """New tracks ``ids`` with (B, 5) states ``x`` and (B, 5, 5) covariances ``p`` in every
        one of the ``r`` models (equally likely), measured at ``t_ns`` by the sensor
        ``sensor_bit``; one hit in one opportunity, not confirmed, no class or size told yet,
        heading along the velocity (east when it stands still)."""
        b = ids.shape[0]
        new = Tracks(r)
        new.ids = ids
        new.x = np.repeat(x[:, None], r, axis=1)
        new.p = np.repeat(p[:, None], r, axis=1)
        new.mu = np.full((b, r), 1.0 / r)
        new.t_ns = np.full(b, t_ns, dtype=np.int64)
        new.last_hit_ns = new.t_ns.copy()
        new.hits = np.ones(b, dtype=np.int64)
        new.chances = np.ones(b, dtype=np.int64)
        new.confirmed = np.zeros(b, dtype=bool)
        new.class_p = np.full((b, N_CLASSES), 1.0 / N_CLASSES)
        new.size_sum = np.zeros((b, 3))
        new.size_n = np.zeros((b, 3))
        new.heading = np.where(
            np.hypot(x[:, 2], x[:, 3]) > HEADING_SPEED_MPS, np.arctan2(x[:, 3], x[:, 2]), 0.0
        )
        new.sensors = np.full(b, sensor_bit, dtype=np.int64)
        new.scatter = np.zeros((b, 2))
        new.scatter_n = np.zeros(b, dtype=np.int64)
        return new

    def follow_heading(self, rows: IntArray) -> None:
        """Turn the tracks ``rows`` along their (model-mixed) velocity where they move."""
        x = self.x[rows]
        vx = np.einsum("br,br->b", self.mu[rows], x[:, :, 2])
        vy = np.einsum("br,br->b", self.mu[rows], x[:, :, 3])
        moving = np.hypot(vx, vy) > HEADING_SPEED_MPS
        self.heading[rows] = np.where(moving, np.arctan2(vy, vx), self.heading[rows])

    def copy(self) -> Tracks:
        """A copy that fusing later scans into ``self`` leaves as it is."""
        out = Tracks.__new__(Tracks)
        for f in fields(self):
            v = getattr(self, f.name)
            shared = f.name in _REPLACED_WHOLE or not isinstance(v, np.ndarray)
            setattr(out, f.name, v if shared else v.copy())
        return out

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        """Keep only the tracks where ``mask`` (N,) is true."""
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                setattr(self, f.name, v[mask])

    def append(self, other: Tracks) -> None:
        """Add ``other``'s tracks after these."""
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                setattr(self, f.name, np.concatenate([v, getattr(other, f.name)]))

    def __len__(self) -> int:
        return int(self.ids.shape[0])


__all__ = ["HEADING_SPEED_MPS", "Tracks"]
