"""Scoring, ground-truth interpolation, the lossy link and fault scheduling: pure parts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hil.errors import HilError
from hil.faults import REGISTRY, make_faults, schedule
from hil.geo import NetToEnu, sumo_heading_to_enu
from hil.links import LossyLink
from hil.scoring import ReceivedFrame, mota_of, percentiles_ms, score
from hil.truth import GroundTruth, TruthHistory
from vicoop.model import NS_PER_S, GeodeticOrigin

DT = NS_PER_S // 10


def truth(k: int, ids: list[int]) -> GroundTruth:
    n = len(ids)
    x = np.array([float(i) * 10.0 + k for i in ids])  # each moves 10 m/s east
    return GroundTruth(
        k * DT,
        np.array(ids, dtype=np.int64),
        np.column_stack([x, np.zeros(n)]),
        np.tile([10.0, 0.0], (n, 1)),
        np.zeros(n),
        np.full(n, 5, dtype=np.int64),
        np.tile([4.5, 1.8, 1.5], (n, 1)),
    )


def history(steps: int, ids: list[int]) -> TruthHistory:
    h = TruthHistory()
    for k in range(steps):
        h.add(truth(k, ids))
    return h


def everywhere(xy: np.ndarray) -> np.ndarray:
    return np.ones(len(xy), dtype=bool)


def frame(k: int, ids: list[int], offset: float = 0.0, vel: float = 10.0) -> ReceivedFrame:
    t = truth(k, ids)
    return ReceivedFrame(
        k * DT,
        np.array([100 + i for i in ids], dtype=np.int64),
        t.positions + np.array([offset, 0.0]),
        np.tile([vel, 0.0], (len(ids), 1)),
    )


def tracked(k: int, tracks: dict[int, int]) -> ReceivedFrame:
    """Frame ``k`` with track id -> the road user it sits exactly on."""
    t = truth(k, list(tracks.values()))
    return ReceivedFrame(k * DT, np.array(list(tracks), dtype=np.int64), t.positions, t.velocities)


# Hand-worked figures. HOTA = sqrt(DetA * AssA), averaged over TrackEval's 19 alpha thresholds
# 0.05 ... 0.95 on the similarity max(0, 1 - d / match_m); DetA = TP / (TP + FN + FP), AssA the
# mean over true positives of TPA / (TPA + FNA + FPA) of their (road user, track) pair.


def test_perfect_tracking_scores_one() -> None:
    s = score([tracked(k, {7: 1, 8: 2}) for k in range(10)], history(10, [1, 2]), everywhere)
    assert (s.mota, s.idf1, s.hota) == (1.0, 1.0, 1.0)
    assert (s.matches, s.misses, s.false_positives, s.id_switches) == (20, 0, 0, 0)
    assert s.position_rmse_m == 0.0 and s.velocity_rmse_mps == 0.0


def test_hota_grades_localisation_and_errors_are_measured() -> None:
    s = score(
        [frame(k, [1, 2], offset=0.45, vel=11.0) for k in range(10)],
        history(10, [1, 2]),
        everywhere,
    )
    assert (s.mota, s.idf1, s.matches, s.misses, s.false_positives, s.id_switches) == (
        1.0,
        1.0,
        20,
        0,
        0,
        0,
    )
    assert s.position_rmse_m == pytest.approx(0.45) and s.velocity_rmse_mps == pytest.approx(1.0)
    # Similarity 1 - 0.45 / 2 = 0.775: a match at the 15 alphas up to 0.75, none above.
    assert s.hota == pytest.approx(15 / 19)


def test_an_id_switch_halves_association() -> None:
    # One road user for 10 frames: track 7 for the first 5, track 8 for the last 5.
    frames = [tracked(k, {7 if k < 5 else 8: 1}) for k in range(10)]
    s = score(frames, history(10, [1]), everywhere)
    # py-motmetrics counts the frame of the switch as a switch, not as a match.
    assert (s.matches, s.misses, s.false_positives, s.id_switches) == (9, 0, 0, 1)
    assert s.mota == pytest.approx(1 - 1 / 10)
    assert s.idf1 == pytest.approx(2 * 5 / (2 * 5 + 5 + 5))  # IDTP 5, IDFN 5, IDFP 5
    assert s.hota == pytest.approx(np.sqrt(1.0 * 0.5))  # DetA 1, AssA 5 / (5 + 5 + 0)


def test_a_road_user_never_tracked_is_missed() -> None:
    s = score([tracked(k, {7: 1}) for k in range(10)], history(10, [1, 2]), everywhere)
    assert (s.matches, s.misses, s.false_positives, s.id_switches) == (10, 10, 0, 0)
    assert s.mota == pytest.approx(1 - 10 / 20)
    assert s.idf1 == pytest.approx(2 * 10 / (2 * 10 + 10 + 0))
    assert s.hota == pytest.approx(np.sqrt(10 / 20 * 1.0))


def test_a_track_lost_half_way_loses_detection_and_association() -> None:
    frames = [tracked(k, {7: 1} if k < 5 else {}) for k in range(10)]
    s = score(frames, history(10, [1]), everywhere)
    assert (s.matches, s.misses) == (5, 5)
    assert s.mota == pytest.approx(0.5)
    assert s.idf1 == pytest.approx(2 * 5 / (2 * 5 + 5 + 0))
    assert s.hota == pytest.approx(np.sqrt(0.5 * 0.5))  # DetA 5 / 10, AssA 5 / (5 + 5)


def test_a_missed_road_user_and_a_far_track_are_counted() -> None:
    frames = [frame(k, [1]) for k in range(10)]
    frames = [
        ReceivedFrame(
            f.valid_at_ns,
            np.append(f.ids, 999),
            np.vstack([f.positions, [[500.0, 0.0]]]),
            np.vstack([f.velocities, [[0.0, 0.0]]]),
        )
        for f in frames
    ]
    s = score(frames, history(10, [1, 2]), everywhere)
    assert (s.matches, s.misses, s.false_positives) == (10, 10, 10)
    assert s.mota == pytest.approx(1 - 20 / 20)
    assert s.idf1 == pytest.approx(2 * 10 / (2 * 10 + 10 + 10))
    assert s.hota == pytest.approx(np.sqrt(10 / 30 * 1.0))


def test_only_ground_truth_inside_the_coverage_counts() -> None:
    def west_of_15(xy: np.ndarray) -> np.ndarray:
        return xy[:, 0] < 15.0

    s = score([frame(k, [1]) for k in range(5)], history(5, [1, 2]), west_of_15)
    assert (s.ground_truth_objects, s.misses, s.mota) == (5, 0, 1.0)


def test_truth_is_interpolated_to_valid_at_and_timeline_gives_window_mota() -> None:
    h = history(3, [1])
    mid = h.at(DT // 2)
    assert mid is not None and mid.positions[0, 0] == pytest.approx(10.5)
    assert h.at(5 * DT) is None
    s = score([frame(k, [1]) for k in range(20)], history(20, [1]), everywhere, start_ns=0)
    assert [row[0] for row in s.timeline] == [0.0, 1.0]
    assert mota_of(s.timeline, 0.0, 1.0) == 1.0 and np.isnan(mota_of(s.timeline, 5.0, 6.0))
    assert percentiles_ms([0.010, 0.020, 0.030]) == {"p50": 20.0, "p99": 29.8, "max": 30.0}


def test_lossy_link_loses_and_reorders_as_configured() -> None:
    link = LossyLink(loss=0.2, reorder=0.5, reorder_delay_ns=30)
    rng = np.random.default_rng(5)
    arrivals = [link.route(1000 * i, rng) for i in range(1000)]
    assert link.lost == sum(1 for a in arrivals if not a) and 150 < link.lost < 250
    assert link.reordered == sum(1 for i, a in enumerate(arrivals) if a and a[0] == 1000 * i + 30)
    assert LossyLink().route(7, rng) == [7]


def test_faults_are_scheduled_one_after_another() -> None:
    faults = make_faults(["all"])
    assert [f.name for f in faults] == list(REGISTRY)
    schedule(faults, 300.0)
    assert all(a.end_s + a.recovery_s < b.start_s for a, b in itertools.pairwise(faults))
    with pytest.raises(HilError, match="need --duration of at least"):
        schedule(make_faults(["all"]), 60.0)


def test_net_to_enu_fit_recovers_a_rotation_and_headings() -> None:
    origin = GeodeticOrigin(50.0, 7.0, 0.0)

    def lonlat(x: float, y: float) -> tuple[float, float]:  # a net rotated 2 degrees from east
        import pymap3d

        c, s = np.cos(np.radians(2)), np.sin(np.radians(2))
        lat, lon, _ = pymap3d.enu2geodetic(c * x - s * y, s * x + c * y, 0.0, 50.0, 7.0, 0.0)
        return float(lon), float(lat)

    m = NetToEnu.fit(lonlat, origin, (0.0, 0.0))
    assert np.degrees(m.rotation_rad) == pytest.approx(2.0, abs=1e-3)
    assert np.allclose(m.inverse_points(m.points(np.array([[100.0, 50.0]]))), [[100.0, 50.0]])
    # SUMO's 90 degrees is the net's +x: 2 degrees north of east here.
    assert np.degrees(sumo_heading_to_enu(np.array([90.0]), m))[0] == pytest.approx(2.0, abs=1e-3)
