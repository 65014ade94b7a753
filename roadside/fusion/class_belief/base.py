"""The class-belief stage's interface: what the classes sensors report tell about a track's."""

from __future__ import annotations

import abc

from roadside.fusion.base import FloatArray, IntArray


class ClassBelief(abc.ABC):
    """Folds reported classes into tracks' beliefs over ``roadside.fusion.base.CLASSES``."""

    @abc.abstractmethod
    def update(
        self, belief: FloatArray, classes: IntArray, scores: FloatArray | None
    ) -> FloatArray | None:
        """The (B, classes) beliefs of B tracks after each was told one measurement's class:
        (B,) ``ObjectClass`` values ``classes`` (UNSPECIFIED or unknown ones tell nothing) with
        (B,) confidences ``scores`` in [0, 1] (None: the sensor gives none). None when no
        measurement told a class (the beliefs stay as they are)."""
