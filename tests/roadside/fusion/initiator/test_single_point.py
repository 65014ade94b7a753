"""Starting tracks from single measurements."""

from __future__ import annotations

import numpy as np
import pytest

from roadside.fusion.base import Scan
from roadside.fusion.config import TrackerConfig
from roadside.fusion.initiator import REGISTRY, SinglePointInitiator
from vicoop.model import SensorKind


def test_chosen_by_name_with_the_configured_priors() -> None:
    init = REGISTRY[TrackerConfig().initiator](
        TrackerConfig(init_speed_sigma_mps=5.0, init_turn_sigma_radps=0.3)
    )
    assert isinstance(init, SinglePointInitiator)
    assert (init.speed_sigma_mps, init.turn_sigma_radps) == (5.0, 0.3)


def test_a_position_only_measurement_starts_a_standing_track_of_unknown_speed() -> None:
    scan = Scan(
        "cam",
        SensorKind.CAMERA,
        0,
        np.array([[1.0, 2.0], [3.0, 4.0]]),
        np.stack([np.eye(2) * 0.5] * 2),
    )
    x, p = SinglePointInitiator(8.0, 0.2).initiate(scan, np.array([1]))
    np.testing.assert_array_equal(x, [[3.0, 4.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(np.diag(p[0]), [0.5, 0.5, 64.0, 64.0, 0.04])


def test_a_radar_measurement_gives_the_speed_along_the_line_of_sight() -> None:
    scan = Scan(
        "radar",
        SensorKind.RADAR,
        0,
        np.array([[10.0, 0.0]]),
        np.eye(2)[None] * 0.1,
        radial_speeds=np.array([-5.0]),
        radial_speed_var=0.25,
        sensor_position=(0.0, 0.0),
    )
    x, p = SinglePointInitiator(8.0, 0.2).initiate(scan, np.array([0]))
    np.testing.assert_allclose(x[0], [10.0, 0.0, -5.0, 0.0, 0.0])
    # Along the line of sight (east) the radar's variance, across it the prior's.
    assert p[0, 2, 2] == pytest.approx(0.25)
    assert p[0, 3, 3] == pytest.approx(64.0)
    assert p[0, 2, 3] == pytest.approx(0.0)
