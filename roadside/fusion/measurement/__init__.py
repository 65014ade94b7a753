"""Measurement models: what a scan should see of the tracks, chosen by name."""

from __future__ import annotations

from collections.abc import Callable

from roadside.fusion.config import TrackerConfig
from roadside.fusion.measurement.base import Expected, MeasurementModel
from roadside.fusion.measurement.extended import ExtendedObjectModel
from roadside.fusion.measurement.footprint import Footprint

__all__ = ["REGISTRY", "Expected", "ExtendedObjectModel", "Footprint", "MeasurementModel"]

# name -> factory(config): the measurement model named in ``tracker.measurement_model``.
REGISTRY: dict[str, Callable[[TrackerConfig], MeasurementModel]] = {
    ExtendedObjectModel.name: ExtendedObjectModel.from_config,
}
