"""The multi-sensor multi-object tracker: IMM filters, GNN association, M-of-N track management.

Pure and synchronous: ``step(scans, now_ns)`` takes in any number of calibrated scans (each
carries its measurement time) and returns the confirmed tracks predicted to ``now_ns``.

Per scan, in measurement-time order:

1. every track's IMM is mixed and predicted to the scan time;
2. measurements are gated (Mahalanobis, in the ground plane) and assigned by global nearest
   neighbour;
3. assigned tracks fold the measurement's class into their class belief, then get an
   extended-Kalman update per motion model (position, and radial speed for a radar; a near-side
   sensor's centre placed again with the track's heading, and the offset's mean and variance
   over that class belief), and model probabilities and size are updated;
4. tracks inside the scan's coverage record a hit or a miss; tentative tracks are confirmed with
   M hits in their last N opportunities (or deleted when they failed to), confirmed tracks are
   deleted after M misses in their last N opportunities or when nothing updated them for
   ``max_coast_s``;
5. measurements that fell in no gate start tentative tracks.

Late measurements: a scan older than the newest one processed, but within ``late_window_s`` of
it, rolls the tracker back to its state just before the first later scan and replays them all in
time order, so the result is exactly the one in-order arrival would have given. Older scans are
counted in ``stats.too_late`` and dropped.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from roadside.fusion.association import REGISTRY as ASSOCIATORS
from roadside.fusion.association import Associator
from roadside.fusion.base import (
    CLASS_SIZE_TABLE,
    CLASSES,
    N_CLASSES,
    STATE_DIM,
    Coverage,
    FloatArray,
    IntArray,
    Scan,
    Tracker,
    TrackEstimates,
    class_index,
    near_side_offsets,
)
from roadside.fusion.config import TrackerConfig
from roadside.fusion.imm import ImmFilter, Measurements
from roadside.fusion.motion import REGISTRY as MOTION_MODELS
from vicoop.model import NS_PER_S, ObjectClass

_POP16 = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.int64)
_CLASS_VALUES = np.array([int(c) for c in CLASSES], dtype=np.int64)
_UNKNOWN_LW = CLASS_SIZE_TABLE[CLASSES.index(ObjectClass.UNKNOWN), :2]
# Below this speed (m/s) a track's velocity does not tell its heading.
_HEADING_SPEED = 0.5
# Relative standard deviation of an object's length and width about its class's (or measured) ones.
_SIZE_REL_SIGMA = 0.1
# A track's measured scatter counts after this many measurements, with this weight for each new one.
_SCATTER_MIN_N = 10
_SCATTER_WEIGHT = 0.1


def _quad2(v: FloatArray, m: FloatArray) -> FloatArray:
    """(B,) v' M v for (B, 2) vectors and (B, 2, 2) symmetric matrices."""
    a, b = v[:, 0], v[:, 1]
    out: FloatArray = a * a * m[:, 0, 0] + 2.0 * a * b * m[:, 0, 1] + b * b * m[:, 1, 1]
    return out


def popcount(v: IntArray) -> IntArray:
    """Number of set bits of each (non-negative, < 2**32) value."""
    out: IntArray = _POP16[v & 0xFFFF] + _POP16[(v >> 16) & 0xFFFF]
    return out


@dataclass
class TrackerStats:
    """Counters since the tracker was made."""

    scans: int = 0
    measurements: int = 0
    out_of_sequence: int = 0
    too_late: int = 0
    tracks_born: int = 0
    tracks_confirmed: int = 0
    tracks_deleted: int = 0


# _State fields that fusing a scan replaces by new arrays and never writes into: a copy for
# replay may share them (they are the bulk of a state: the models' covariances).
_REPLACED_WHOLE = frozenset({"x", "p", "mu"})


@dataclass
class _State:
    """All tracks (confirmed or not), as arrays over N; copied for late-measurement replay."""

    r: int
    ids: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    x: FloatArray = field(init=False)
    p: FloatArray = field(init=False)
    mu: FloatArray = field(init=False)
    t_ns: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_hit_ns: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    hits: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    chances: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    confirmed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    class_p: FloatArray = field(init=False)
    size_sum: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    size_n: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    heading: FloatArray = field(default_factory=lambda: np.zeros(0))
    sensors: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    # Spread of point measurements (a radar's reflections) about the track along and across its
    # heading beyond what the filter predicts, m^2: a running mean, and how many went into it.
    scatter: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    scatter_n: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        self.x = np.zeros((0, self.r, STATE_DIM))
        self.p = np.zeros((0, self.r, STATE_DIM, STATE_DIM))
        self.mu = np.zeros((0, self.r))
        self.class_p = np.zeros((0, N_CLASSES))

    def copy(self) -> _State:
        out = _State.__new__(_State)
        for f in fields(self):
            v = getattr(self, f.name)
            shared = f.name in _REPLACED_WHOLE or not isinstance(v, np.ndarray)
            setattr(out, f.name, v if shared else v.copy())
        return out

    def keep(self, mask: np.ndarray) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                setattr(self, f.name, v[mask])

    def append(self, other: _State) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                setattr(self, f.name, np.concatenate([v, getattr(other, f.name)]))

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True, slots=True)
class _Shape:
    """Each track's footprint as the measurement models need it: (N, 2) length and width m (as
    measured, else expected under its class belief, else an unknown object's), (N,) heading rad
    and whether that is known (the track moves)."""

    lw: FloatArray
    heading: FloatArray
    heading_known: np.ndarray
    scatter: FloatArray
    # (N, classes): the class belief where the size is the class's (not measured, not unknown),
    # else zeros; a near-side centre is placed with the offsets of all classes so weighted.
    mix: FloatArray

    @staticmethod
    def of(st: _State, xc: FloatArray) -> _Shape:
        lw, mix = _Shape.lengths_widths(st.class_p, st.size_sum, st.size_n)
        speed = np.hypot(xc[:, 2], xc[:, 3])
        known = speed > _HEADING_SPEED
        heading = np.where(known, np.arctan2(xc[:, 3], xc[:, 2]), st.heading)
        scatter = np.where(
            (st.scatter_n >= _SCATTER_MIN_N)[:, None], np.maximum(st.scatter, 0.0), 0.0
        )
        return _Shape(lw, heading, known, scatter, mix)

    @staticmethod
    def lengths_widths(
        class_p: FloatArray, size_sum: FloatArray, size_n: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """(N, 2) m: as measured, else expected under the class belief, else an unknown object's;
        and (N, classes) the class belief where the size comes from it, else zeros."""
        informed = class_p.max(axis=1) > 2.0 / N_CLASSES
        lw = np.where(informed[:, None], class_p @ CLASS_SIZE_TABLE[:, :2], _UNKNOWN_LW)
        measured = size_n[:, :2] > 0
        out: FloatArray = np.where(measured, size_sum[:, :2] / np.maximum(size_n[:, :2], 1), lw)
        mix: FloatArray = np.where((informed & ~measured.any(axis=1))[:, None], class_p, 0.0)
        return out, mix

    def footprint_inside(self, centres: FloatArray, coverage: Coverage) -> np.ndarray:
        """Whether each track's whole footprint (its four corners; a square of its length where
        the heading is not known) about the (N, 2) ``centres`` is inside ``coverage``."""
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


@dataclass(frozen=True, slots=True)
class _Processed:
    """A scan as fused, with the state before it, for replay. ``births`` maps the scan's
    measurement rows that started a track (in this or any earlier application) to that track's
    id, so that a replay gives the same track the same id."""

    measured_at_ns: int
    before: _State
    scan: Scan
    births: dict[int, int]


class MultiSensorTracker(Tracker):
    """The RSU's tracker; see the module docstring. ``config`` holds every tunable."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        cfg = self.config
        self.imm = ImmFilter(
            [MOTION_MODELS[m.name](m.accel_psd, m.turn_psd) for m in cfg.motion_models],
            cfg.mean_sojourn_s,
        )
        self.associator: Associator = ASSOCIATORS[cfg.associator](cfg.gate_probability)
        self.gate_d2 = getattr(self.associator, "gate_d2", 13.8)
        self.stats = TrackerStats()
        self._state = _State(self.imm.r)
        # Track ids are never handed out twice, replays included; while replaying, ids from
        # _replay_first_id on are new in this replay (so no one has seen them yet).
        self._next_id = 1
        self._replay_first_id: int | None = None
        self._history: collections.deque[_Processed] = collections.deque()
        self._latest_ns: int | None = None
        self._sensor_bits: dict[str, int] = {}
        self._sensor_names: list[str] = []
        self._window_ns = round(cfg.late_window_s * NS_PER_S)
        self._confirm_mask = (1 << cfg.confirm_n) - 1
        self._delete_mask = (1 << cfg.delete_n) - 1
        self._history_mask = (1 << max(cfg.confirm_n, cfg.delete_n)) - 1

    # -- public API -------------------------------------------------------------------------

    def step(self, scans: Sequence[Scan], now_ns: int) -> TrackEstimates:
        for scan in sorted(scans, key=lambda s: s.measured_at_ns):
            self.ingest(scan)
        self.expire(now_ns)
        return self.predict(now_ns)

    def ingest(self, scan: Scan) -> None:
        """Fuse one scan (in or out of time order, see the module docstring)."""
        t = scan.measured_at_ns
        if self._latest_ns is not None and t < self._latest_ns:
            if (
                t < self._latest_ns - self._window_ns
                or not self._history
                or t < self._history[0].measured_at_ns
            ):
                self.stats.too_late += 1
                return
            self.stats.out_of_sequence += 1
            replay: list[_Processed] = []
            while self._history and self._history[-1].measured_at_ns > t:
                replay.append(self._history.pop())
            replay.reverse()
            self._state = replay[0].before
            self._replay_first_id = self._next_id
            try:
                self._apply(scan)
                for entry in replay:
                    self._apply(entry.scan, entry.births)
            finally:
                self._replay_first_id = None
            return
        self._apply(scan)

    def expire(self, now_ns: int) -> None:
        """Delete tracks that nothing has updated for ``max_coast_s`` before ``now_ns``."""
        st = self._state
        stale = (now_ns - st.last_hit_ns) > round(self.config.max_coast_s * NS_PER_S)
        if stale.any():
            self.stats.tracks_deleted += int(stale.sum())
            st.keep(~stale)

    def predict(self, now_ns: int) -> TrackEstimates:
        st = self._state
        sel = np.flatnonzero(st.confirmed)
        dt = (now_ns - st.t_ns[sel]) / NS_PER_S
        xp, pp, c = self.imm.mix_predict(st.x[sel], st.p[sel], st.mu[sel], dt)
        xc, pc = self.imm.combine(xp, pp, c)
        k = st.class_p[sel].argmax(axis=1) if sel.size else np.zeros(0, np.int64)
        conf = st.class_p[sel][np.arange(sel.size), k] if sel.size else np.zeros(0)
        sizes = np.where(
            st.size_n[sel] > 0,
            st.size_sum[sel] / np.maximum(st.size_n[sel], 1),
            CLASS_SIZE_TABLE[k],
        )
        speed = np.hypot(xc[:, 2], xc[:, 3])
        heading = np.where(speed > 0.5, np.arctan2(xc[:, 3], xc[:, 2]), st.heading[sel])
        hits = popcount(st.hits[sel] & self._confirm_mask)
        existence = hits / np.maximum(np.minimum(st.chances[sel], self.config.confirm_n), 1)
        names = self._sensor_names
        masks = st.sensors[sel].tolist()
        by_mask = {m: tuple(n for b, n in enumerate(names) if m >> b & 1) for m in set(masks)}
        sensor_ids = tuple(by_mask[m] for m in masks)
        return TrackEstimates(
            valid_at_ns=now_ns,
            ids=st.ids[sel].copy(),
            states=xc,
            covariances=pc,
            classes=_CLASS_VALUES[k],
            class_confidences=conf,
            sizes=sizes,
            headings=heading,
            existence=np.clip(existence, 0.0, 1.0),
            sensor_ids=sensor_ids,
        )

    @property
    def track_count(self) -> int:
        """Tracks held, tentative ones included."""
        return len(self._state)

    # -- one scan ---------------------------------------------------------------------------

    def _apply(self, scan: Scan, births: dict[int, int] | None = None) -> None:
        """Fuse ``scan`` into the current state; ``births`` are its rows' track ids from an earlier
        application (a replay)."""
        known = dict(births or {})
        if self._window_ns > 0:
            self._history.append(_Processed(scan.measured_at_ns, self._state.copy(), scan, known))
            cutoff = scan.measured_at_ns - self._window_ns
            while len(self._history) > 1 and self._history[0].measured_at_ns < cutoff:
                self._history.popleft()
        self._latest_ns = (
            scan.measured_at_ns
            if self._latest_ns is None
            else max(self._latest_ns, scan.measured_at_ns)
        )
        self._process(self._state, scan, known)

    def _sensor_bit(self, sensor_id: str) -> int:
        bit = self._sensor_bits.get(sensor_id)
        if bit is None:
            bit = len(self._sensor_names)
            if bit >= 62:
                raise ValueError("a tracker fuses at most 62 sensors")
            self._sensor_bits[sensor_id] = bit
            self._sensor_names.append(sensor_id)
        return bit

    def _process(self, st: _State, scan: Scan, births: dict[int, int]) -> None:
        t = scan.measured_at_ns
        n, k = len(st), len(scan)
        self.stats.scans += 1
        self.stats.measurements += k
        bit = 1 << self._sensor_bit(scan.sensor_id)
        if n:
            dt = (t - st.t_ns) / NS_PER_S
            xp, pp, c = self.imm.mix_predict(st.x, st.p, st.mu, dt)
            xc, pc = self.imm.combine(xp, pp, c)
            needs_shape = (
                scan.extent_fraction > 0
                or scan.centre_offsets is not None
                or scan.whole_object_coverage
            )
            shape = _Shape.of(st, xc) if needs_shape else None
            spread = (
                shape.extent_covariances(scan.extent_fraction)
                if shape is not None and scan.extent_fraction > 0
                else None
            )
            # Where on the object the sensor's point lies is part of the predicted measurement's spread.
            track_cov = pc[:, :2, :2] if spread is None else pc[:, :2, :2] + spread
            assignment = self.associator.associate(
                xc[:, :2], track_cov, scan.positions, scan.covariances
            )
            rows, cols = assignment.tracks, assignment.measurements
            if births and self._replay_first_id is not None and rows.size:
                self._keep_ids(st, rows, cols, births, self._replay_first_id)
            if rows.size:
                if spread is not None and shape is not None:
                    self._update_scatter(st, scan, rows, cols, shape, xc, pc)
                if self._update_class(st, scan, rows, cols) and shape is not None:
                    # A detection's class tells its object's size, so where its centre lies.
                    lw, mix = shape.lw.copy(), shape.mix.copy()
                    lw[rows], mix[rows] = _Shape.lengths_widths(
                        st.class_p[rows], st.size_sum[rows], st.size_n[rows]
                    )
                    shape = dataclasses.replace(shape, lw=lw, mix=mix)
                meas = self._measurements(scan, rows, cols, shape, spread, xc, pc[:, 2:4, 2:4])
                x_new, p_new, mu_new = self.imm.update(xp[rows], pp[rows], c[rows], meas)
                xp[rows], pp[rows], c[rows] = x_new, p_new, mu_new
            st.x, st.p, st.mu = xp, pp, c
            st.t_ns = np.full(n, t, dtype=np.int64)
            hit = np.zeros(n, dtype=bool)
            hit[rows] = True
            if scan.coverage is None:
                covered = np.ones(n, dtype=bool)
            elif scan.whole_object_coverage and shape is not None:
                covered = hit | shape.footprint_inside(xc[:, :2], scan.coverage)
            else:
                covered = hit | scan.coverage.contains(xc[:, :2])
            # A confirmed track is missed only by a sensor that has seen it: one that never has
            # may not see it where it is (cut off, occluded, too small) and tells nothing.
            covered &= hit | ~st.confirmed | ((st.sensors & bit) != 0)
            st.hits = np.where(covered, ((st.hits << 1) | hit) & self._history_mask, st.hits)
            st.chances = st.chances + covered
            st.last_hit_ns[rows] = t
            st.sensors[rows] |= bit
            self._update_attributes(st, scan, rows, cols)
            self._manage(st)
            born_from = ~assignment.gated
        else:
            born_from = np.ones(k, dtype=bool)
        if born_from.any():
            self._birth(st, scan, np.flatnonzero(born_from), bit, births)

    def _update_scatter(
        self,
        st: _State,
        scan: Scan,
        rows: IntArray,
        cols: IntArray,
        shape: _Shape,
        xc: FloatArray,
        pc: FloatArray,
    ) -> None:
        """Fold the squared innovations along and across each moving track's heading, less what
        the track's and the sensor's own uncertainty explain, into its running scatter."""
        known = shape.heading_known[rows]
        if not known.any():
            return
        r, k = rows[known], cols[known]
        c, s = np.cos(shape.heading[r]), np.sin(shape.heading[r])
        dx, dy = (scan.positions[k] - xc[r, :2]).T
        cov = pc[r, :2, :2] + scan.covariances[k]
        sxx, sxy, syy = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]
        # Innovations and their predicted variances along (c, s) and across (-s, c) the heading.
        along, across = c * dx + s * dy, c * dy - s * dx
        cs2 = 2.0 * c * s * sxy
        base_along = c * c * sxx + cs2 + s * s * syy
        base_across = s * s * sxx - cs2 + c * c * syy
        excess = np.column_stack([along * along - base_along, across * across - base_across])
        n = st.scatter_n[r]
        w = np.where(n == 0, 1.0, np.maximum(_SCATTER_WEIGHT, 1.0 / (n + 1)))[:, None]
        st.scatter[r] = (1.0 - w) * st.scatter[r] + w * excess
        st.scatter_n[r] = n + 1

    def _measurements(
        self,
        scan: Scan,
        rows: IntArray,
        cols: IntArray,
        shape: _Shape | None,
        spread: FloatArray | None,
        xc: FloatArray,
        pv: FloatArray,
    ) -> Measurements:
        """The measurements of ``cols`` for an update of the tracks ``rows`` (predicted states
        ``xc``, velocity covariances ``pv``): with the reflection point's spread over each track's footprint added (to the
        position and, through the changed line of sight, to the radial speed), and a near-side
        sensor's centres placed again with each track's heading and size."""
        z = scan.positions[cols]
        r = scan.covariances[cols]
        if spread is not None:
            r = r + spread[rows]
        o = scan.centre_offsets
        if o is not None and shape is not None:
            known = shape.heading_known[rows]
            if known.any():
                k, tr = cols[known], rows[known]
                los = z[known] - np.asarray(scan.sensor_position)
                u = los / np.maximum(np.hypot(los[:, 0], los[:, 1]), 1e-6)[:, None]
                offset = near_side_offsets(
                    shape.lw[tr, 0], shape.lw[tr, 1], shape.heading[tr], o.axis_rad, u
                )
                var = (_SIZE_REL_SIGMA * offset) ** 2
                mix = shape.mix[tr]
                by_class = mix.any(axis=1)
                if by_class.any():
                    # Not sure of the class, not sure of the offset: its mean and variance over
                    # the classes (a pedestrian the detector called a car is not placed 2 m off).
                    each = near_side_offsets(
                        CLASS_SIZE_TABLE[:, 0],
                        CLASS_SIZE_TABLE[:, 1],
                        shape.heading[tr][:, None],
                        o.axis_rad,
                        u[:, None, :],
                    )
                    m1 = (mix * each).sum(axis=1)
                    m2 = (mix * each * each).sum(axis=1) * (1.0 + _SIZE_REL_SIGMA**2)
                    offset = np.where(by_class, m1, offset)
                    var = np.where(by_class, np.maximum(m2 - m1 * m1, 0.0), var)
                z = z.copy()
                z[known] += u * (offset - o.offsets[k])[:, None]
                r = r.copy()
                r[known] += (var - o.variances[k])[:, None, None] * (u[:, :, None] * u[:, None, :])
        if scan.radial_speeds is None:
            return Measurements(z, r)
        b = cols.size
        z3 = np.column_stack([z, scan.radial_speeds[cols]])
        r3 = np.zeros((b, 3, 3))
        r3[:, :2, :2] = r
        r3[:, 2, 2] = scan.radial_speed_var
        if spread is not None:
            # A point e off the centre is seen along another line of sight: its radial speed
            # differs by g.e, g = (v - vr u) / rho the radial speed's gradient in position.
            x = xc[rows]
            d = x[:, :2] - np.asarray(scan.sensor_position)
            rho = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-3)
            u = d / rho[:, None]
            vr = np.einsum("bi,bi->b", x[:, 2:4], u)
            g = (x[:, 2:4] - vr[:, None] * u) / rho[:, None]
            e = spread[rows]
            eg = np.einsum("bij,bj->bi", e, g)
            r3[:, :2, 2] = r3[:, 2, :2] = eg
            # g is uncertain through the velocity across the line of sight (unit v): add
            # E[g' E g] - g' E g = tr(E cov g) = (v' Pv v)(v' E v) / rho^2.
            v = np.column_stack([-u[:, 1], u[:, 0]])
            pvr = pv[rows]
            r3[:, 2, 2] += np.einsum("bi,bi->b", g, eg) + _quad2(v, pvr) * _quad2(v, e) / (
                rho * rho
            )
        return Measurements(z3, r3, scan.sensor_position)

    @staticmethod
    def _update_class(st: _State, scan: Scan, rows: IntArray, cols: IntArray) -> bool:
        """Fold the classes of measurements ``cols`` into the class belief of tracks ``rows``;
        whether any measurement had a class."""
        if scan.classes is not None and rows.size:
            ci = class_index(scan.classes[cols])
            known = ci >= 0
            if known.any():
                r, ci = rows[known], ci[known]
                score = np.clip(
                    scan.class_scores[cols][known] if scan.class_scores is not None else 0.8,
                    0.05,
                    0.99,
                )
                # Confusion model: the reported class with probability `score`, any other uniformly.
                lik = np.broadcast_to(
                    ((1.0 - score) / (N_CLASSES - 1))[:, None], (r.size, N_CLASSES)
                ).copy()
                lik[np.arange(r.size), ci] = score
                post = st.class_p[r] * lik
                post /= post.sum(axis=1, keepdims=True)
                # A little forgetting so a track can change its mind.
                st.class_p[r] = 0.98 * post + 0.02 / N_CLASSES
                return True
        return False

    @staticmethod
    def _update_attributes(st: _State, scan: Scan, rows: IntArray, cols: IntArray) -> None:
        """Sizes and headings of tracks ``rows`` after their update by measurements ``cols``."""
        if rows.size == 0:
            return
        if scan.sizes is not None:
            s = scan.sizes[cols]
            known_s = np.isfinite(s)
            st.size_sum[rows] += np.where(known_s, s, 0.0)
            st.size_n[rows] += known_s
        x = st.x[rows]
        vx = np.einsum("br,br->b", st.mu[rows], x[:, :, 2])
        vy = np.einsum("br,br->b", st.mu[rows], x[:, :, 3])
        moving = np.hypot(vx, vy) > 0.5
        st.heading[rows] = np.where(moving, np.arctan2(vy, vx), st.heading[rows])

    def _manage(self, st: _State) -> None:
        cfg = self.config
        tentative = ~st.confirmed
        recent = popcount(st.hits & self._confirm_mask)
        confirm = tentative & (recent >= cfg.confirm_m)
        self.stats.tracks_confirmed += int(confirm.sum())
        st.confirmed = st.confirmed | confirm
        failed = tentative & ~confirm & (st.chances >= cfg.confirm_n)
        window = np.minimum(st.chances, cfg.delete_n)
        misses = window - popcount(st.hits & self._delete_mask)
        lost = st.confirmed & (misses >= cfg.delete_m)
        drop = failed | lost
        if drop.any():
            self.stats.tracks_deleted += int(drop.sum())
            st.keep(~drop)

    @staticmethod
    def _keep_ids(
        st: _State, rows: IntArray, cols: IntArray, births: dict[int, int], first_new: int
    ) -> None:
        """In a replay: a measurement that started the track with id k before now updates a track
        that is new in this replay (born of the late scan, so no one has seen its id): that track
        is the one published as k, and takes k back."""
        alive = set(st.ids.tolist())
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            k = births.get(c)
            if k is not None and k not in alive and st.ids[r] >= first_new:
                alive.discard(int(st.ids[r]))
                st.ids[r] = k
                alive.add(k)

    def _birth(
        self, st: _State, scan: Scan, cols: IntArray, bit: int, births: dict[int, int]
    ) -> None:
        cfg = self.config
        b = cols.size
        r = self.imm.r
        x = np.zeros((b, STATE_DIM))
        x[:, :2] = scan.positions[cols]
        p = np.zeros((b, STATE_DIM, STATE_DIM))
        p[:, :2, :2] = scan.covariances[cols]
        sv2 = cfg.init_speed_sigma_mps**2
        if scan.radial_speeds is not None:
            # The radar measured the speed along the line of sight; only the rest is unknown.
            d = x[:, :2] - np.asarray(scan.sensor_position)
            u = d / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-3)[:, None]
            x[:, 2:4] = u * scan.radial_speeds[cols][:, None]
            uu = u[:, :, None] * u[:, None, :]
            p[:, 2:4, 2:4] = sv2 * (np.eye(2) - uu) + scan.radial_speed_var * uu
        else:
            p[:, 2, 2] = p[:, 3, 3] = sv2
        p[:, 4, 4] = cfg.init_turn_sigma_radps**2
        new = _State(r)
        # A replay starts the same tracks from the same measurements again, under the same ids.
        alive = set(st.ids.tolist())
        ids = []
        for c in cols.tolist():
            k = births.get(c)
            if k is None or k in alive:
                k = self._next_id
                self._next_id += 1
                births[c] = k
            ids.append(k)
        new.ids = np.array(ids, dtype=np.int64)
        new.x = np.repeat(x[:, None], r, axis=1)
        new.p = np.repeat(p[:, None], r, axis=1)
        new.mu = np.full((b, r), 1.0 / r)
        new.t_ns = np.full(b, scan.measured_at_ns, dtype=np.int64)
        new.last_hit_ns = new.t_ns.copy()
        new.hits = np.ones(b, dtype=np.int64)
        new.chances = np.ones(b, dtype=np.int64)
        new.confirmed = np.zeros(b, dtype=bool) if cfg.confirm_m > 1 else np.ones(b, dtype=bool)
        new.class_p = np.full((b, N_CLASSES), 1.0 / N_CLASSES)
        new.size_sum = np.zeros((b, 3))
        new.size_n = np.zeros((b, 3))
        new.heading = np.zeros(b)
        new.sensors = np.full(b, bit, dtype=np.int64)
        new.scatter = np.zeros((b, 2))
        new.scatter_n = np.zeros(b, dtype=np.int64)
        rows = np.arange(b)
        self._update_class(new, scan, rows, cols)
        self._update_attributes(new, scan, rows, cols)
        new.heading = np.where(np.hypot(x[:, 2], x[:, 3]) > 0.5, np.arctan2(x[:, 3], x[:, 2]), 0.0)
        st.append(new)
        self.stats.tracks_born += b
        if cfg.confirm_m <= 1:
            self.stats.tracks_confirmed += b


__all__ = ["MultiSensorTracker", "TrackerStats", "popcount"]
