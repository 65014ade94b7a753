"""The uniform confusion class belief."""

from __future__ import annotations

import numpy as np
import pytest

from roadside.fusion.base import CLASSES, N_CLASSES
from roadside.fusion.class_belief import REGISTRY, UniformConfusion
from roadside.fusion.config import TrackerConfig
from vicoop.model import ObjectClass

UNIFORM = np.full((1, N_CLASSES), 1.0 / N_CLASSES)
CAR = CLASSES.index(ObjectClass.CAR)


def test_chosen_by_name() -> None:
    assert isinstance(REGISTRY[TrackerConfig().class_belief](TrackerConfig()), UniformConfusion)


def test_a_report_moves_the_belief_by_its_confidence() -> None:
    out = UniformConfusion().update(UNIFORM, np.array([int(ObjectClass.CAR)]), np.array([0.9]))
    assert out is not None
    assert out.sum() == pytest.approx(1.0)
    # From uniform, the posterior is the likelihood: 0.9 for the car, 0.1 over the others.
    assert out[0, CAR] == pytest.approx(0.98 * 0.9 + 0.02 / N_CLASSES)
    assert out.argmax() == CAR


def test_repeated_reports_converge_but_never_reach_certainty() -> None:
    belief = UNIFORM
    for _ in range(50):
        out = UniformConfusion().update(belief, np.array([int(ObjectClass.BUS)]), None)
        assert out is not None
        belief = out
    assert 0.95 < belief[0, CLASSES.index(ObjectClass.BUS)] < 1.0


def test_unspecified_classes_tell_nothing() -> None:
    conf = UniformConfusion()
    assert conf.update(UNIFORM, np.array([int(ObjectClass.UNSPECIFIED)]), np.array([0.9])) is None
    two = np.repeat(UNIFORM, 2, axis=0)
    out = conf.update(two, np.array([0, int(ObjectClass.CAR)]), np.array([0.9, 0.9]))
    assert out is not None
    np.testing.assert_array_equal(out[0], UNIFORM[0])
    assert out[1].argmax() == CAR
