"""The multi-sensor multi-object tracker, assembled from the parts it is given.

Pure and synchronous: ``step(scans, now_ns)`` takes in any number of calibrated scans (each
carries its measurement time) and returns the confirmed tracks predicted to ``now_ns``.

Per scan, in measurement-time order:

1. the IMM filter (``roadside.fusion.imm``) mixes and predicts every track to the scan time;
2. the measurement model (``roadside.fusion.measurement``) tells what the scan should see of each
   track, and the associator (``roadside.fusion.association``) assigns measurements to tracks;
3. assigned tracks fold the measurement's class into their class belief
   (``roadside.fusion.class_belief``) and get the IMM's update with the measurement model's
   measurements; the model learns their shapes;
4. the track manager (``roadside.fusion.management``) records a hit or a miss for the tracks the
   scan covers, confirms and deletes tracks;
5. the initiator (``roadside.fusion.initiator``) starts tentative tracks from measurements that
   fell in no gate.

Late measurements: a scan older than the newest one processed, but within ``late_window_s`` of
it, rolls the tracker back to its tracks just before the first later scan and replays them all in
time order (``roadside.fusion.replay``), so the result is exactly the one in-order arrival would
have given. Older scans are counted in ``stats.too_late`` and dropped.

Early measurements: a scan measured more than ``max_lead_s`` after the time the tracker was last
stepped to (the RSU's clock) is counted in ``stats.too_early`` and dropped, so no scan (a forged
or skewed stamp that got past ingest's time window) can move the tracker's time far ahead and
make every real scan after it too late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roadside.fusion.association import REGISTRY as ASSOCIATORS
from roadside.fusion.association import Associator
from roadside.fusion.base import (
    CLASS_SIZE_TABLE,
    CLASSES,
    FloatArray,
    IntArray,
    Scan,
    Tracker,
    TrackEstimates,
)
from roadside.fusion.class_belief import REGISTRY as CLASS_BELIEFS
from roadside.fusion.class_belief import ClassBelief
from roadside.fusion.config import TrackerConfig
from roadside.fusion.imm import ImmFilter
from roadside.fusion.initiator import REGISTRY as INITIATORS
from roadside.fusion.initiator import Initiator
from roadside.fusion.management import REGISTRY as MANAGERS
from roadside.fusion.management import TrackManager
from roadside.fusion.measurement import REGISTRY as MEASUREMENT_MODELS
from roadside.fusion.measurement import MeasurementModel
from roadside.fusion.motion import REGISTRY as MOTION_MODELS
from roadside.fusion.replay import ReplayBuffer, restore_ids
from roadside.fusion.tracks import HEADING_SPEED_MPS, Tracks
from vicoop.model import NS_PER_S

_CLASS_VALUES = np.array([int(c) for c in CLASSES], dtype=np.int64)
# Sensors are bits of an int64 mask.
_MAX_SENSORS = 62


@dataclass
class TrackerStats:
    """Counters since the tracker was made."""

    scans: int = 0
    measurements: int = 0
    out_of_sequence: int = 0
    too_late: int = 0
    too_early: int = 0
    tracks_born: int = 0
    tracks_confirmed: int = 0
    tracks_deleted: int = 0


class MultiSensorTracker(Tracker):
    """The RSU's tracker; see the module docstring.

    ``config`` holds every tunable and names each part; a part passed in is used instead of the
    one ``config`` names.
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        *,
        imm: ImmFilter | None = None,
        associator: Associator | None = None,
        measurement: MeasurementModel | None = None,
        class_belief: ClassBelief | None = None,
        manager: TrackManager | None = None,
        initiator: Initiator | None = None,
    ) -> None:
        self.config = config or TrackerConfig()
        cfg = self.config
        self.imm = imm or ImmFilter(
            [MOTION_MODELS[m.name](m.accel_psd, m.turn_psd) for m in cfg.motion_models],
            cfg.mean_sojourn_s,
        )
        self.associator = associator or ASSOCIATORS[cfg.associator](cfg.gate_probability)
        self.measurement = measurement or MEASUREMENT_MODELS[cfg.measurement_model](cfg)
        self.class_belief = class_belief or CLASS_BELIEFS[cfg.class_belief](cfg)
        self.manager = manager or MANAGERS[cfg.manager](cfg)
        self.initiator = initiator or INITIATORS[cfg.initiator](cfg)
        self.stats = TrackerStats()
        self._tracks = Tracks(self.imm.r)
        # Track ids are never handed out twice, replays included; while replaying, ids from
        # _replay_first_id on are new in this replay (so no one has seen them yet).
        self._next_id = 1
        self._replay_first_id: int | None = None
        self._replay = ReplayBuffer(round(cfg.late_window_s * NS_PER_S))
        self._latest_ns: int | None = None
        self._max_lead_ns = round(cfg.max_lead_s * NS_PER_S)
        self._now_ns: int | None = None  # the time of the last step, expiry or prediction
        self._sensor_bits: dict[str, int] = {}
        self._sensor_names: list[str] = []

    # -- public API -------------------------------------------------------------------------

    def step(self, scans: Sequence[Scan], now_ns: int) -> TrackEstimates:
        self._now_ns = now_ns
        for scan in sorted(scans, key=lambda s: s.measured_at_ns):
            self.ingest(scan)
        self.expire(now_ns)
        return self.predict(now_ns)

    def ingest(self, scan: Scan) -> None:
        """Fuse one scan (in or out of time order, see the module docstring)."""
        t = scan.measured_at_ns
        if self._now_ns is not None and t - self._now_ns > self._max_lead_ns:
            self.stats.too_early += 1
            return
        if self._latest_ns is None or t >= self._latest_ns:
            self._apply(scan)
            return
        replay = self._replay.rewind(t, self._latest_ns)
        if replay is None:
            self.stats.too_late += 1
            return
        self.stats.out_of_sequence += 1
        self._tracks = replay[0].before
        self._replay_first_id = self._next_id
        try:
            self._apply(scan)
            for entry in replay:
                self._apply(entry.scan, entry.births)
        finally:
            self._replay_first_id = None

    def expire(self, now_ns: int) -> None:
        """Delete tracks that the manager finds nothing has updated for too long by ``now_ns``."""
        self._now_ns = now_ns
        stale = self.manager.expire(self._tracks, now_ns)
        if stale.any():
            self.stats.tracks_deleted += int(stale.sum())
            self._tracks.keep(~stale)

    def predict(self, now_ns: int) -> TrackEstimates:
        st = self._tracks
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
        heading = np.where(
            speed > HEADING_SPEED_MPS, np.arctan2(xc[:, 3], xc[:, 2]), st.heading[sel]
        )
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
            existence=self.manager.existence(st)[sel],
            sensor_ids=sensor_ids,
        )

    @property
    def track_count(self) -> int:
        """Tracks held, tentative ones included."""
        return len(self._tracks)

    # -- one scan ---------------------------------------------------------------------------

    def _apply(self, scan: Scan, births: dict[int, int] | None = None) -> None:
        """Fuse ``scan`` into the current tracks; ``births`` are its rows' track ids from an
        earlier application (a replay)."""
        known = dict(births or {})
        self._replay.record(scan, self._tracks, known)
        self._latest_ns = (
            scan.measured_at_ns
            if self._latest_ns is None
            else max(self._latest_ns, scan.measured_at_ns)
        )
        self._fuse(self._tracks, scan, known)

    def _sensor_bit(self, sensor_id: str) -> int:
        bit = self._sensor_bits.get(sensor_id)
        if bit is None:
            bit = len(self._sensor_names)
            if bit >= _MAX_SENSORS:
                raise ValueError(f"a tracker fuses at most {_MAX_SENSORS} sensors")
            self._sensor_bits[sensor_id] = bit
            self._sensor_names.append(sensor_id)
        return bit

    def _fuse(self, st: Tracks, scan: Scan, births: dict[int, int]) -> None:
        t = scan.measured_at_ns
        n, k = len(st), len(scan)
        self.stats.scans += 1
        self.stats.measurements += k
        bit = 1 << self._sensor_bit(scan.sensor_id)
        if n == 0:
            if k:
                self._birth(st, scan, np.arange(k, dtype=np.int64), bit, births)
            return
        xp, pp, c = self.imm.mix_predict(st.x, st.p, st.mu, (t - st.t_ns) / NS_PER_S)
        expected = self.measurement.expect(st, scan, *self.imm.combine(xp, pp, c))
        assignment = self.associator.associate(
            expected.states[:, :2], expected.gate_covariances, scan.positions, scan.covariances
        )
        rows, cols = assignment.tracks, assignment.measurements
        if births and self._replay_first_id is not None and rows.size:
            restore_ids(st, rows, cols, births, self._replay_first_id)
        if rows.size:
            belief = self._told_classes(st.class_p[rows], scan, cols)
            if belief is not None:
                st.class_p[rows] = belief
                expected = self.measurement.classified(expected, st, rows)
            meas = self.measurement.measurements(expected, scan, rows, cols)
            xp[rows], pp[rows], c[rows] = self.imm.update(xp[rows], pp[rows], c[rows], meas)
        st.x, st.p, st.mu = xp, pp, c
        st.t_ns = np.full(n, t, dtype=np.int64)
        hit = np.zeros(n, dtype=bool)
        hit[rows] = True
        verdict = self.manager.update(st, hit, hit | self.measurement.covered(expected, scan), bit)
        st.last_hit_ns[rows] = t
        st.sensors[rows] |= bit
        self.measurement.learn(st, scan, rows, cols, expected)
        st.follow_heading(rows)
        self.stats.tracks_confirmed += int(verdict.confirmed.sum())
        if verdict.deleted.any():
            self.stats.tracks_deleted += int(verdict.deleted.sum())
            st.keep(~verdict.deleted)
        born_from = np.flatnonzero(~assignment.gated)
        if born_from.size:
            self._birth(st, scan, born_from, bit, births)

    def _told_classes(self, belief: FloatArray, scan: Scan, cols: IntArray) -> FloatArray | None:
        """The (B, classes) ``belief`` of B tracks told the classes of ``scan``'s rows ``cols``
        (one each); None when the scan tells no class."""
        if scan.classes is None:
            return None
        scores = None if scan.class_scores is None else scan.class_scores[cols]
        return self.class_belief.update(belief, scan.classes[cols], scores)

    def _birth(
        self, st: Tracks, scan: Scan, cols: IntArray, bit: int, births: dict[int, int]
    ) -> None:
        """Start tracks from ``scan``'s rows ``cols``; a replay starts the same tracks from the
        same measurements again, under the same ids."""
        alive = set(st.ids.tolist())
        ids = []
        for col in cols.tolist():
            k = births.get(col)
            if k is None or k in alive:
                k = self._next_id
                self._next_id += 1
                births[col] = k
            ids.append(k)
        x, p = self.initiator.initiate(scan, cols)
        new = Tracks.start(
            np.array(ids, dtype=np.int64), x, p, self.imm.r, scan.measured_at_ns, bit
        )
        self.manager.start(new)
        belief = self._told_classes(new.class_p, scan, cols)
        if belief is not None:
            new.class_p = belief
        self.measurement.learn(new, scan, np.arange(cols.size), cols, None)
        st.append(new)
        self.stats.tracks_born += cols.size
        self.stats.tracks_confirmed += int(new.confirmed.sum())


__all__ = ["MultiSensorTracker", "TrackerStats"]
