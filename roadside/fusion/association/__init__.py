"""Data association: gating and assignment of measurements to tracks, chosen by name."""

from __future__ import annotations

from collections.abc import Callable

from roadside.fusion.association.base import Assignment, Associator
from roadside.fusion.association.gating import chi2_gate_2d, mahalanobis_2d
from roadside.fusion.association.hungarian import GlobalNearestNeighbour

__all__ = [
    "REGISTRY",
    "Assignment",
    "Associator",
    "GlobalNearestNeighbour",
    "chi2_gate_2d",
    "mahalanobis_2d",
]

# name -> factory(gate_probability)
REGISTRY: dict[str, Callable[[float], Associator]] = {
    GlobalNearestNeighbour.name: GlobalNearestNeighbour,
}
