"""The calibration stage's interface: sensor measurements to points on the ENU ground plane,
each with its covariance (m^2), propagated from the sensor's noise through the projection."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
In = TypeVar("In")


@dataclass(frozen=True, eq=False)
class GroundPoints:
    """K points on the ground: ``positions`` (K, 2) ENU m, ``covariances`` (K, 2, 2) m^2.

    A near-side sensor (a camera) also gives ``centre_offsets`` (K,) m, how far it moved each
    seen point away from the sensor along the line of sight to reach the object's centre, and
    ``centre_offset_vars`` (K,) m^2, the variance that added along the line of sight.
    """

    positions: FloatArray
    covariances: FloatArray
    centre_offsets: FloatArray | None = None
    centre_offset_vars: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.positions.shape[0])


class Projector(abc.ABC, Generic[In]):
    """Maps one sensor's measurements onto the ground plane."""

    @abc.abstractmethod
    def project(self, measurements: In) -> GroundPoints:
        """The measurements' ground positions and covariances in the site's ENU frame."""
