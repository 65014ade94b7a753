"""The tracker: gating, confirmation, deletion, late measurements, class fusion, prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadside.fusion import Coverage, MultiSensorTracker, Scan, TrackerConfig
from roadside.fusion.association import GlobalNearestNeighbour, chi2_gate_2d, mahalanobis_2d
from roadside.fusion.base import near_side_offsets
from roadside.fusion.class_belief import ClassBelief, UniformConfusion
from roadside.fusion.initiator import SinglePointInitiator
from roadside.fusion.management import MOfN
from roadside.fusion.measurement import ExtendedObjectModel
from roadside.fusion.motion import ConstantVelocity, CoordinatedTurn
from vicoop.model import NS_PER_S, ObjectClass, SensorKind

T0 = 1_700_000_000 * NS_PER_S
DT = NS_PER_S // 10
EVERYWHERE = Coverage((0.0, 0.0), 0.0)
NOWHERE = Coverage((1000.0, 1000.0), 0.0, max_range_m=1.0)


def scan(
    t: int,
    points: list[tuple[float, float]],
    sensor: str = "cam",
    var: float = 0.04,
    coverage: Coverage | None = EVERYWHERE,
    cls: int | None = None,
    score: float = 0.9,
) -> Scan:
    k = len(points)
    return Scan(
        sensor,
        SensorKind.CAMERA,
        t,
        np.array(points, dtype=float).reshape(k, 2),
        np.broadcast_to(np.eye(2) * var, (k, 2, 2)).copy(),
        coverage,
        classes=None if cls is None else np.full(k, cls),
        class_scores=None if cls is None else np.full(k, score),
    )


def moving(t_index: int, x0: float = 0.0, vx: float = 10.0, y: float = 0.0) -> tuple[float, float]:
    return (x0 + vx * t_index * DT / NS_PER_S, y)


def test_m_of_n_confirmation() -> None:
    tracker = MultiSensorTracker(TrackerConfig(confirm_m=3, confirm_n=4))
    counts = [len(tracker.step([scan(T0 + i * DT, [moving(i)])], T0 + i * DT)) for i in range(4)]
    assert counts == [0, 0, 1, 1]
    assert tracker.stats.tracks_confirmed == 1
    assert tracker.predict(T0 + 3 * DT).ids.tolist() == [1]


def test_confirmation_with_a_miss_in_the_window() -> None:
    tracker = MultiSensorTracker(TrackerConfig(confirm_m=3, confirm_n=4))
    pts = [[moving(0)], [moving(1)], [], [moving(3)]]
    counts = [len(tracker.step([scan(T0 + i * DT, p)], T0 + i * DT)) for i, p in enumerate(pts)]
    assert counts == [0, 0, 0, 1]


def test_tentative_track_deleted_when_it_cannot_be_confirmed() -> None:
    tracker = MultiSensorTracker(TrackerConfig(confirm_m=3, confirm_n=4))
    held = []
    for i, p in enumerate([[(5.0, 5.0)], [], [], []]):
        tracker.step([scan(T0 + i * DT, p)], T0 + i * DT)
        held.append(tracker.track_count)
    assert held == [1, 1, 1, 0]
    assert tracker.stats.tracks_deleted == 1
    assert tracker.stats.tracks_confirmed == 0


def confirmed_tracker(config: TrackerConfig) -> MultiSensorTracker:
    tracker = MultiSensorTracker(config)
    for i in range(3):
        tracker.step([scan(T0 + i * DT, [moving(i)])], T0 + i * DT)
    assert len(tracker.predict(T0 + 2 * DT)) == 1
    return tracker


def test_confirmed_track_deleted_after_m_misses_of_n() -> None:
    tracker = confirmed_tracker(
        TrackerConfig(confirm_m=3, confirm_n=4, delete_m=6, delete_n=8, max_coast_s=10)
    )
    alive = []
    for i in range(3, 9):
        tracker.step([scan(T0 + i * DT, [])], T0 + i * DT)
        alive.append(len(tracker.predict(T0 + i * DT)))
    assert alive == [1, 1, 1, 1, 1, 0]


def test_scans_that_do_not_cover_a_track_do_not_miss_it_and_coasting_ends_it() -> None:
    tracker = confirmed_tracker(TrackerConfig(delete_m=2, delete_n=3, max_coast_s=1.0))
    for i in range(3, 12):  # 0.9 s of scans from a sensor that cannot see the track
        tracker.step([scan(T0 + i * DT, [], coverage=NOWHERE)], T0 + i * DT)
    assert len(tracker.predict(T0 + 11 * DT)) == 1
    assert (
        len(tracker.step([], T0 + 2 * DT + NS_PER_S)) == 1
    )  # exactly max_coast_s since the last hit
    assert len(tracker.step([], T0 + 2 * DT + NS_PER_S + 1)) == 0


def test_mahalanobis_gate_values() -> None:
    assert chi2_gate_2d(0.99) == pytest.approx(9.2103, abs=1e-4)
    d2, logdet = mahalanobis_2d(
        np.zeros((1, 2)),
        np.eye(2)[None],
        np.array([[4.0, 0.0], [0.0, 2.0]]),
        np.stack([np.eye(2)] * 2),
    )
    assert d2.tolist() == [[8.0, 2.0]]
    assert logdet[0, 0] == pytest.approx(math.log(4.0))


def test_gating_rejects_pairs_outside_the_gate() -> None:
    gnn = GlobalNearestNeighbour(0.99)  # gate d2 = 9.21; S = 2 I, so d2 = x^2 / 2
    a = gnn.associate(np.zeros((1, 2)), np.eye(2)[None], np.array([[4.2, 0.0]]), np.eye(2)[None])
    assert (a.tracks.tolist(), a.measurements.tolist(), a.gated.tolist()) == ([0], [0], [True])
    b = gnn.associate(np.zeros((1, 2)), np.eye(2)[None], np.array([[4.4, 0.0]]), np.eye(2)[None])
    assert (b.tracks.tolist(), b.measurements.tolist(), b.gated.tolist()) == ([], [], [False])


def test_global_nearest_neighbour_beats_greedy() -> None:
    # Greedy would give measurement 0 (nearest to track 1) to track 1, leaving track 0 with nothing.
    tracks = np.array([[0.0, 0.0], [3.0, 0.0]])
    meas = np.array([[1.6, 0.0], [4.4, 0.0]])
    a = GlobalNearestNeighbour(0.999).associate(
        tracks, np.stack([np.eye(2)] * 2) * 0.5, meas, np.stack([np.eye(2)] * 2) * 0.5
    )
    assert sorted(zip(a.tracks.tolist(), a.measurements.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_far_measurement_starts_a_new_track_instead_of_updating() -> None:
    tracker = confirmed_tracker(TrackerConfig())
    tracker.step([scan(T0 + 3 * DT, [moving(3), (moving(3)[0] + 6.0, 0.0)])], T0 + 3 * DT)
    assert tracker.track_count == 2
    est = tracker.predict(T0 + 3 * DT)
    assert est.ids.tolist() == [1]
    assert est.states[0, 0] == pytest.approx(3.0, abs=0.2)


def run(
    order: list[int], config: TrackerConfig, times: list[int], points: list[tuple[float, float]]
) -> MultiSensorTracker:
    tracker = MultiSensorTracker(config)
    for i in order:
        tracker.step([scan(times[i], [points[i]], sensor="radar" if i % 2 else "cam")], times[i])
    return tracker


def test_late_measurement_gives_the_in_order_result() -> None:
    config = TrackerConfig(late_window_s=0.5)
    times = [T0 + i * DT // 2 for i in range(8)]
    points = [moving(i, vx=5.0) for i in range(8)]
    in_order = run(list(range(8)), config, times, points)
    late = run([0, 1, 2, 3, 5, 6, 4, 7], config, times, points)  # scan 4 arrives 0.1 s late
    assert late.stats.out_of_sequence == 1
    assert late.stats.too_late == 0
    a, b = in_order.predict(times[-1] + DT), late.predict(times[-1] + DT)
    assert a.ids.tolist() == b.ids.tolist() == [1]
    np.testing.assert_allclose(b.states, a.states, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.covariances, a.covariances, rtol=1e-12, atol=1e-12)


def test_measurement_older_than_the_window_is_dropped() -> None:
    config = TrackerConfig(late_window_s=0.2)
    times = [T0 + i * DT for i in range(6)]
    points = [moving(i) for i in range(6)]
    without = run([0, 1, 2, 3, 5], config, times, points)
    late = run([0, 1, 2, 3, 5, 1], config, times, points)  # scan 1 again, 0.4 s late
    assert late.stats.too_late == 1
    assert late.stats.out_of_sequence == 0
    np.testing.assert_array_equal(late.predict(times[-1]).states, without.predict(times[-1]).states)


def test_class_fusion_and_size_from_class() -> None:
    tracker = MultiSensorTracker()
    for i in range(5):
        est = tracker.step(
            [scan(T0 + i * DT, [moving(i)], cls=int(ObjectClass.TRUCK), score=0.8)], T0 + i * DT
        )
    assert est.classes.tolist() == [int(ObjectClass.TRUCK)]
    assert est.class_confidences[0] > 0.95
    assert est.sizes[0].tolist() == [10.0, 2.5, 3.5]
    obj = est.to_objects()[0]
    assert obj.object_class is ObjectClass.TRUCK
    assert obj.sensor_ids == ("cam",)


def test_tracks_are_predicted_to_the_publish_time() -> None:
    tracker = MultiSensorTracker()
    for i in range(10):
        tracker.step([scan(T0 + i * DT, [moving(i)], var=1e-4)], T0 + i * DT)
    est = tracker.predict(T0 + 9 * DT + NS_PER_S // 2)  # 0.5 s after the last scan, at 10 m/s
    assert est.valid_at_ns == T0 + 9 * DT + NS_PER_S // 2
    assert est.states[0, 0] == pytest.approx(9.0 + 5.0, abs=0.05)
    assert est.states[0, 2] == pytest.approx(10.0, abs=0.05)
    assert est.headings[0] == pytest.approx(0.0, abs=0.01)


def test_motion_models() -> None:
    state = np.array([[0.0, 0.0, 10.0, 0.0, math.pi / 4]])
    t = np.array([2.0])  # a quarter circle of radius 10 / (pi / 4)
    cv, _, _ = ConstantVelocity().predict(state, t)
    np.testing.assert_allclose(cv[0], [20.0, 0.0, 10.0, 0.0, 0.0])
    ct, f, _ = CoordinatedTurn().predict(state, t)
    r = 10.0 / (math.pi / 4)
    np.testing.assert_allclose(ct[0], [r, r, 0.0, 10.0, math.pi / 4], atol=1e-9)
    # The Jacobian matches finite differences.
    eps = 1e-6
    for j in range(5):
        d = state.copy()
        d[0, j] += eps
        num = (CoordinatedTurn().predict(d, t)[0] - ct) / eps
        np.testing.assert_allclose(f[0, :, j], num[0], atol=1e-4)


def test_turning_target_is_followed_by_the_imm() -> None:
    tracker = MultiSensorTracker()
    w, _v, r = 0.3, 8.0, 8.0 / 0.3
    for i in range(60):
        t = i * 0.05
        p = (r * math.sin(w * t), r - r * math.cos(w * t))
        est = tracker.step([scan(T0 + i * DT // 2, [p], var=0.01)], T0 + i * DT // 2)
    t = 59 * 0.05
    assert est.states[0, 0] == pytest.approx(r * math.sin(w * t), abs=0.3)
    assert est.states[0, 1] == pytest.approx(r - r * math.cos(w * t), abs=0.3)
    assert est.states[0, 4] == pytest.approx(w, abs=0.1)


def published_ids(tracker: MultiSensorTracker, now: int) -> dict[tuple[float, float], int]:
    est = tracker.predict(now)
    return {
        (round(float(x), 1), round(float(y), 1)): int(i)
        for i, (x, y) in zip(est.ids, est.states[:, :2], strict=True)
    }


def test_replay_keeps_the_id_of_a_track_born_again() -> None:
    # Confirmed on birth, so the track from the radar scan is published before the late camera
    # scan arrives. The late scan starts another track first; the replayed radar scan starts the
    # published one again, which must come back under its id 1 (the late one takes id 2).
    tracker = MultiSensorTracker(TrackerConfig(confirm_m=1, confirm_n=1))
    t_cam, t_radar = T0, T0 + DT // 2
    tracker.step([scan(T0 - DT, [], sensor="radar")], T0 - DT)  # history to roll back into
    tracker.step([scan(t_radar, [(0.0, 0.0)], sensor="radar")], t_radar)
    assert published_ids(tracker, t_radar) == {(0.0, 0.0): 1}
    tracker.step([scan(t_cam, [(50.0, 50.0)], sensor="cam")], t_radar)
    assert tracker.stats.out_of_sequence == 1
    assert published_ids(tracker, t_radar) == {(0.0, 0.0): 1, (50.0, 50.0): 2}
    # Another late scan before both: the replay again keeps both ids.
    tracker.step([scan(t_cam - DT // 2, [(-50.0, 50.0)], sensor="cam")], t_radar)
    assert published_ids(tracker, t_radar) == {(0.0, 0.0): 1, (50.0, 50.0): 2, (-50.0, 50.0): 3}


def test_replay_gives_a_published_id_back_to_the_track_that_took_over_its_measurement() -> None:
    # The late scan saw the same object first, so in the replay its track (new, id 2, never
    # published) takes the radar measurement that started track 1: it is track 1.
    tracker = MultiSensorTracker(TrackerConfig(confirm_m=1, confirm_n=1))
    t_cam, t_radar = T0, T0 + DT // 2
    tracker.step([scan(T0 - DT, [], sensor="radar")], T0 - DT)  # history to roll back into
    tracker.step([scan(t_radar, [(0.5, 0.0)], sensor="radar")], t_radar)
    assert published_ids(tracker, t_radar) == {(0.5, 0.0): 1}
    tracker.step([scan(t_cam, [(0.0, 0.0)], sensor="cam")], t_radar)
    assert tracker.track_count == 1
    assert tracker.predict(t_radar).ids.tolist() == [1]
    # Fresh ids are never reused: the next new track is 3, not 2.
    tracker.step(
        [scan(t_radar + DT, [(0.5 + 0.5, 0.0), (80.0, 0.0)], sensor="radar")], t_radar + DT
    )
    assert sorted(tracker.predict(t_radar + DT).ids.tolist()) == [1, 3]


def test_near_side_offset_is_half_the_extent_along_the_viewing_axis() -> None:
    along_axis = np.array([[1.0, 0.0]])
    # A 12 x 2.5 m bus end-on and side-on to a camera looking east, then seen 60 deg off the axis.
    got = near_side_offsets(
        np.full(3, 12.0),
        np.full(3, 2.5),
        np.array([0.0, math.pi / 2, 0.0]),
        0.0,
        np.concatenate([along_axis, along_axis, [[0.5, math.sqrt(3) / 2]]]),
    )
    np.testing.assert_allclose(got, [6.0, 1.25, 12.0])


def test_radar_points_spread_over_a_long_vehicle_update_its_track() -> None:
    # A bus (the camera told the class) driving east; radar points 2.5 m ahead of and behind its
    # centre, beyond a car-sized gate, must update it instead of starting new tracks.
    tracker = MultiSensorTracker()
    for i in range(6):
        tracker.step(
            [scan(T0 + i * DT, [moving(i)], cls=int(ObjectClass.BUS), score=0.9)], T0 + i * DT
        )
    for j, along in enumerate([2.5, -2.5, 2.5, -2.5]):
        i = 6 + j
        x, y = moving(i)
        radar = Scan(
            "radar",
            SensorKind.RADAR,
            T0 + i * DT,
            np.array([[x + along, y]]),
            np.eye(2)[None] * 0.04,
            EVERYWHERE,
            extent_fraction=0.15,
        )
        tracker.step([radar], T0 + i * DT)
    assert tracker.stats.tracks_born == 1
    assert tracker.predict(T0 + 9 * DT).ids.tolist() == [1]


def test_a_class_the_track_is_unsure_of_does_not_drag_its_near_side_centre() -> None:
    # A pedestrian walking north, side-on to a camera at the origin looking east, tracked by a
    # radar; then the camera calls it a car and places its centre a car's mean offset behind the
    # pedestrian's near side. The track is not sure of that class: the centre stays put.
    from roadside.fusion.base import CentreOffsets

    tracker = MultiSensorTracker()
    walk = 1.4 * DT / NS_PER_S
    for i in range(10):
        tracker.step([scan(T0 + i * DT, [(20.0, i * walk)], sensor="radar", var=0.01)], T0 + i * DT)
    i = 10
    car_offset = (4.5 + 1.8) / math.pi
    spread2 = (0.3 * (4.5 - 1.8) / 2 + 0.1) ** 2
    camera = Scan(
        "cam",
        SensorKind.CAMERA,
        T0 + i * DT,
        np.array([[20.0 - 0.25 + car_offset, i * walk]]),
        np.diag([0.01 + spread2, 0.01])[None],
        EVERYWHERE,
        classes=np.array([int(ObjectClass.CAR)]),
        class_scores=np.array([0.6]),
        sensor_position=(0.0, 0.0),
        centre_offsets=CentreOffsets(0.0, np.array([car_offset]), np.array([spread2])),
    )
    est = tracker.step([camera], T0 + i * DT)
    assert est.ids.tolist() == [1]
    assert abs(est.states[0, 0] - 20.0) < 0.1


def test_the_parts_config_names_are_assembled() -> None:
    tracker = MultiSensorTracker()
    assert isinstance(tracker.manager, MOfN)
    assert isinstance(tracker.initiator, SinglePointInitiator)
    assert isinstance(tracker.class_belief, UniformConfusion)
    assert isinstance(tracker.measurement, ExtendedObjectModel)
    assert isinstance(tracker.associator, GlobalNearestNeighbour)


class DeafToClasses(ClassBelief):
    """A class belief that no report moves."""

    def update(
        self, belief: np.ndarray, classes: np.ndarray, scores: np.ndarray | None
    ) -> np.ndarray | None:
        return None


def test_parts_passed_in_replace_the_configured_ones() -> None:
    # Configured 3-of-4, but given a manager that confirms on birth and a deaf class belief.
    tracker = MultiSensorTracker(
        TrackerConfig(confirm_m=3, confirm_n=4),
        manager=MOfN(confirm_m=1, confirm_n=1),
        class_belief=DeafToClasses(),
    )
    est = tracker.step([scan(T0, [moving(0)], cls=int(ObjectClass.TRUCK), score=0.9)], T0)
    assert est.ids.tolist() == [1]
    assert est.classes.tolist() == [int(ObjectClass.UNKNOWN)]


def test_a_scan_far_ahead_of_the_tracker_clock_cannot_move_its_time() -> None:
    """Defence in depth behind the ingest window: a scan measured an hour after the time the
    tracker was last stepped to is counted as too early and dropped, and the real scans after
    it keep the track."""
    tracker = MultiSensorTracker(TrackerConfig())
    for i in range(10):
        tracker.step([scan(T0 + i * DT, [moving(i)])], T0 + i * DT)
    tracker.ingest(scan(T0 + 3600 * NS_PER_S, [moving(10)]))
    for i in range(10, 20):
        est = tracker.step([scan(T0 + i * DT, [moving(i)])], T0 + i * DT)
    assert tracker.stats.too_early == 1
    assert tracker.stats.too_late == 0
    assert est.ids.tolist() == [1]
    np.testing.assert_allclose(est.states[0, :2], moving(19), atol=0.5)
