"""The extended-object measurement model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadside.fusion.base import CLASSES, N_CLASSES, STATE_DIM, CentreOffsets, Coverage, Scan
from roadside.fusion.config import TrackerConfig
from roadside.fusion.measurement import REGISTRY, ExtendedObjectModel
from roadside.fusion.tracks import Tracks
from vicoop.model import ObjectClass, SensorKind

MODEL = ExtendedObjectModel()
BUS = CLASSES.index(ObjectClass.BUS)
ROWS = np.array([0])


def bus_driving_east() -> tuple[Tracks, np.ndarray, np.ndarray]:
    """One track 20 m east of the origin, driving east at 10 m/s, believed a bus."""
    x = np.array([[20.0, 0.0, 10.0, 0.0, 0.0]])
    t = Tracks.start(np.array([1]), x, np.eye(STATE_DIM)[None] * 0.1, 1, 0, 1)
    t.class_p[0] = 0.01 / (N_CLASSES - 1)
    t.class_p[0, BUS] = 0.99
    return t, x, np.eye(STATE_DIM)[None] * 0.1


def radar(
    points: list[tuple[float, float]],
    coverage: Coverage | None = None,
    extent_fraction: float = 0.0,
    whole_object_coverage: bool = False,
) -> Scan:
    k = len(points)
    return Scan(
        "radar",
        SensorKind.RADAR,
        0,
        np.array(points, dtype=float).reshape(k, 2),
        np.broadcast_to(np.eye(2) * 0.04, (k, 2, 2)).copy(),
        coverage,
        radial_speeds=np.full(k, 10.0),
        extent_fraction=extent_fraction,
        whole_object_coverage=whole_object_coverage,
    )


def test_chosen_by_name() -> None:
    cfg = TrackerConfig()
    assert isinstance(REGISTRY[cfg.measurement_model](cfg), ExtendedObjectModel)


def test_a_centre_measurement_is_expected_where_the_track_is() -> None:
    tracks, x, p = bus_driving_east()
    e = MODEL.expect(tracks, radar([(20.0, 0.0)]), x, p)
    assert e.footprint is None and e.spread is None
    np.testing.assert_array_equal(e.gate_covariances, p[:, :2, :2])
    m = MODEL.measurements(e, radar([(20.0, 0.0)]), ROWS, ROWS)
    assert m.z.shape == (1, 3) and m.r[0, 2, 2] == pytest.approx(0.25)


def test_reflection_points_spread_along_a_long_vehicle() -> None:
    tracks, x, p = bus_driving_east()
    scan = radar([(26.0, 0.0)], extent_fraction=0.25)
    e = MODEL.expect(tracks, scan, x, p)
    assert e.spread is not None
    along, across = e.gate_covariances[0, 0, 0], e.gate_covariances[0, 1, 1]
    assert along == pytest.approx(0.1 + (0.25 * 12.0) ** 2, rel=0.05)
    assert across < along / 10
    m = MODEL.measurements(e, scan, ROWS, ROWS)
    np.testing.assert_allclose(m.r[0, :2, :2], scan.covariances[0] + e.spread[0])


def test_a_near_side_centre_is_placed_again_with_the_tracks_size() -> None:
    # A camera at the origin looking east placed a car's centre behind the near side it saw;
    # the track is a bus side-on (driving north), so its near side is 1.27 m from its centre.
    tracks, x, p = bus_driving_east()
    x = np.array([[20.0, 0.0, 0.0, 10.0, 0.0]])
    near = 20.0 - 2.55 / 2
    car_offset = 1.5
    scan = Scan(
        "cam",
        SensorKind.CAMERA,
        0,
        np.array([[near + car_offset, 0.0]]),
        np.eye(2)[None] * 0.04,
        centre_offsets=CentreOffsets(0.0, np.array([car_offset]), np.array([0.0])),
    )
    e = MODEL.expect(tracks, scan, x, p)
    m = MODEL.measurements(e, scan, ROWS, ROWS)
    assert m.z[0, 0] == pytest.approx(20.0, abs=0.05)


def test_coverage_of_whole_objects_needs_the_whole_footprint() -> None:
    tracks, x, p = bus_driving_east()
    reach = Coverage((0.0, 0.0), 0.0, half_fov_rad=math.pi / 2, max_range_m=22.0)
    centre_only = radar([], coverage=reach)
    whole = radar([], coverage=reach, whole_object_coverage=True)
    assert MODEL.covered(MODEL.expect(tracks, centre_only, x, p), centre_only).tolist() == [True]
    assert MODEL.covered(MODEL.expect(tracks, whole, x, p), whole).tolist() == [False]
    assert MODEL.covered(MODEL.expect(tracks, radar([]), x, p), radar([])).tolist() == [True]


def test_learns_measured_sizes_and_scatter() -> None:
    tracks, x, p = bus_driving_east()
    scan = Scan(
        "cam",
        SensorKind.CAMERA,
        0,
        np.array([[20.0, 0.0]]),
        np.eye(2)[None] * 0.04,
        sizes=np.array([[11.0, 2.5, np.nan]]),
    )
    MODEL.learn(tracks, scan, ROWS, ROWS, None)
    assert tracks.size_sum[0].tolist() == [11.0, 2.5, 0.0]
    assert tracks.size_n[0].tolist() == [1.0, 1.0, 0.0]
    points = radar([(25.0, 0.0)], extent_fraction=0.25)
    MODEL.learn(tracks, points, ROWS, ROWS, MODEL.expect(tracks, points, x, p))
    assert tracks.scatter_n.tolist() == [1]
    # 5 m ahead of the centre: 25 m^2 along the heading, less the predicted 0.14 m^2.
    assert tracks.scatter[0, 0] == pytest.approx(25.0 - 0.14)
