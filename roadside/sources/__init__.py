"""Frame sources: where an RSU's published objects come from, chosen by ``source.kind``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from roadside.sources.base import FrameSource, Snapshot
from roadside.sources.synthetic import SyntheticTraffic

__all__ = ["REGISTRY", "FrameSource", "Snapshot", "SyntheticTraffic", "build_source"]

Clock = Callable[[], int]

# kind -> factory taking the validated source configuration and the RSU's clock (ns since the
# Unix epoch; sensor inputs stamp each datagram's receive time with it).
REGISTRY: dict[str, Callable[[Any, Clock], FrameSource]] = {
    "synthetic": lambda cfg, clock: SyntheticTraffic(cfg.objects, cfg.seed, cfg.arm_length_m),
    "sensors": lambda cfg, clock: _sensor_fusion(cfg, clock),
}


def _sensor_fusion(config: Any, clock: Clock) -> FrameSource:
    from roadside.sources.fused import SensorFusion  # numpy/scipy/opencv only when configured

    return SensorFusion(config, clock)


def build_source(config: Any, clock: Clock = time.time_ns) -> FrameSource:
    """The frame source named by ``config.kind``, on the RSU's ``clock``."""
    return REGISTRY[config.kind](config, clock)
