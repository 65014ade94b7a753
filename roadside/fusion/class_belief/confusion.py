"""A uniform confusion model: the sensor reports the true class with its confidence, any other
class equally likely; a little forgetting lets a track change its mind."""

from __future__ import annotations

import numpy as np

from roadside.fusion.base import N_CLASSES, FloatArray, IntArray, class_index
from roadside.fusion.class_belief.base import ClassBelief
from roadside.fusion.config import TrackerConfig

# Confidence assumed when the sensor gives none.
_DEFAULT_SCORE = 0.8
# Confidences are held inside this range: no report is certain, none tells nothing.
_SCORE_RANGE = (0.05, 0.99)
# Share of the belief forgotten (spread uniformly over the classes) at each update.
_FORGET = 0.02


class UniformConfusion(ClassBelief):
    """Bayes' rule with a uniform confusion matrix; see the module docstring."""

    name = "confusion"

    @classmethod
    def from_config(cls, config: TrackerConfig) -> UniformConfusion:
        """The model (it has nothing to configure)."""
        del config
        return cls()

    def update(
        self, belief: FloatArray, classes: IntArray, scores: FloatArray | None
    ) -> FloatArray | None:
        ci = class_index(classes)
        known = ci >= 0
        if not known.any():
            return None
        b = int(known.sum())
        ci = ci[known]
        given = scores[known] if scores is not None else np.full(b, _DEFAULT_SCORE)
        score = np.clip(given, *_SCORE_RANGE)
        lik = np.broadcast_to(((1.0 - score) / (N_CLASSES - 1))[:, None], (b, N_CLASSES)).copy()
        lik[np.arange(b), ci] = score
        post = belief[known] * lik
        post /= post.sum(axis=1, keepdims=True)
        out = belief.copy()
        out[known] = (1.0 - _FORGET) * post + _FORGET / N_CLASSES
        return out
