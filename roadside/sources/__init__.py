"""Frame sources: where an RSU's published objects come from, chosen by ``source.kind``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roadside.sources.base import FrameSource, Snapshot
from roadside.sources.synthetic import SyntheticTraffic

__all__ = ["REGISTRY", "FrameSource", "Snapshot", "SyntheticTraffic", "build_source"]

# kind -> factory taking the validated source configuration.
REGISTRY: dict[str, Callable[[Any], FrameSource]] = {
    "synthetic": lambda cfg: SyntheticTraffic(cfg.objects, cfg.seed, cfg.arm_length_m),
    "sensors": lambda cfg: _sensor_fusion(cfg),
}


def _sensor_fusion(config: Any) -> FrameSource:
    from roadside.sources.fused import SensorFusion  # numpy/scipy/opencv only when configured

    return SensorFusion(config)


def build_source(config: Any) -> FrameSource:
    """The frame source named by ``config.kind``."""
    return REGISTRY[config.kind](config)
