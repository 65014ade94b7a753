"""Tracks' footprints: sizes from measurements or class beliefs, coverage, point spread."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadside.fusion.base import CLASSES, N_CLASSES, STATE_DIM, Coverage
from roadside.fusion.measurement import Footprint
from roadside.fusion.measurement.footprint import lengths_widths
from roadside.fusion.tracks import Tracks
from vicoop.model import ObjectClass

BUS = CLASSES.index(ObjectClass.BUS)


def belief(cls: int | None) -> np.ndarray:
    if cls is None:
        return np.full(N_CLASSES, 1.0 / N_CLASSES)
    out = np.full(N_CLASSES, 0.01 / (N_CLASSES - 1))
    out[cls] = 0.99
    return out


def test_sizes_as_measured_else_from_the_class_else_unknown() -> None:
    class_p = np.stack([belief(None), belief(BUS), belief(BUS)])
    size_sum = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [8.0, 4.0, 0.0]])
    size_n = np.array([[0, 0, 0], [0, 0, 0], [2, 2, 0]], dtype=float)
    lw, mix = lengths_widths(class_p, size_sum, size_n)
    np.testing.assert_allclose(lw[0], [4.0, 1.8])  # an unknown object's
    assert lw[1, 0] == pytest.approx(12.0, abs=0.2)  # nearly a bus
    np.testing.assert_allclose(lw[2], [4.0, 2.0])  # as measured
    assert not mix[0].any() and mix[1].argmax() == BUS and not mix[2].any()


def moving_east(speed: float) -> Footprint:
    t = Tracks.start(np.array([1]), np.zeros((1, STATE_DIM)), np.eye(STATE_DIM)[None], 1, 0, 1)
    t.class_p[0] = belief(BUS)
    return Footprint.of(t, np.array([[0.0, 0.0, speed, 0.0, 0.0]]))


def test_the_heading_is_known_when_the_track_moves() -> None:
    assert moving_east(5.0).heading_known.tolist() == [True]
    assert moving_east(0.1).heading_known.tolist() == [False]


def test_a_whole_footprint_inside_the_coverage() -> None:
    bus = moving_east(5.0)
    ahead = Coverage((-20.0, 0.0), 0.0, half_fov_rad=math.pi / 2, max_range_m=100.0)
    assert bus.inside(np.array([[0.0, 0.0]]), ahead).tolist() == [True]
    # Its front (6 m ahead of the centre) is out of reach.
    short = Coverage((-20.0, 0.0), 0.0, half_fov_rad=math.pi / 2, max_range_m=24.0)
    assert bus.inside(np.array([[0.0, 0.0]]), short).tolist() == [False]


def test_point_spread_along_the_heading_or_isotropic() -> None:
    cov = moving_east(5.0).extent_covariances(0.5)[0]
    assert cov[0, 0] > 10 * cov[1, 1] and cov[0, 1] == pytest.approx(0.0, abs=1e-9)
    iso = moving_east(0.1).extent_covariances(0.5)[0]
    assert iso[0, 0] == pytest.approx(iso[1, 1]) and iso[0, 1] == 0.0


def test_told_a_class_the_footprint_takes_its_size() -> None:
    t = Tracks.start(np.array([1]), np.zeros((1, STATE_DIM)), np.eye(STATE_DIM)[None], 1, 0, 1)
    fp = Footprint.of(t, np.array([[0.0, 0.0, 5.0, 0.0, 0.0]]))
    np.testing.assert_allclose(fp.lw[0], [4.0, 1.8])
    t.class_p[0] = belief(BUS)
    assert fp.classified(t, np.array([0])).lw[0, 0] == pytest.approx(12.0, abs=0.2)
