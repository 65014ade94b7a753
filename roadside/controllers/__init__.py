"""Signal controller adapters: what an intersection's controller says, chosen by ``kind``.

``build_adapter(config, clock)`` gives the adapter ``config.kind`` names (``udp_json``,
``sumo``, ``ntcip1202``), each reading ``vicoop.spat.ControllerReading``s and a
``ControllerProgram`` (see ``base``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from roadside.controllers.base import (
    AdapterStats,
    ControllerAdapter,
    ControllerError,
    ControllerProgram,
    GroupTiming,
    Stage,
    StalePolicy,
)
from roadside.controllers.config import (
    ControllerConfig,
    Ntcip1202ControllerConfig,
    SumoControllerConfig,
    UdpJsonControllerConfig,
)

__all__ = [
    "REGISTRY",
    "AdapterStats",
    "ControllerAdapter",
    "ControllerConfig",
    "ControllerError",
    "ControllerProgram",
    "GroupTiming",
    "Ntcip1202ControllerConfig",
    "Stage",
    "StalePolicy",
    "SumoControllerConfig",
    "UdpJsonControllerConfig",
    "build_adapter",
]

Clock = Callable[[], int]


def _udp_json(config: Any, clock: Clock) -> ControllerAdapter:
    from roadside.controllers.udp_json import UdpJsonAdapter

    return UdpJsonAdapter(config, clock)


def _sumo(config: Any, clock: Clock) -> ControllerAdapter:
    from roadside.controllers.sumo import SumoAdapter  # libsumo/traci only when configured

    return SumoAdapter(config, clock)


def _ntcip1202(config: Any, clock: Clock) -> ControllerAdapter:
    from roadside.controllers.ntcip1202 import Ntcip1202Adapter  # pysnmp only when configured

    return Ntcip1202Adapter(config, clock)


# kind -> factory taking the adapter's validated configuration and the RSU's clock (ns since
# the Unix epoch).
REGISTRY: dict[str, Callable[[Any, Clock], ControllerAdapter]] = {
    "udp_json": _udp_json,
    "sumo": _sumo,
    "ntcip1202": _ntcip1202,
}


def build_adapter(config: ControllerConfig, clock: Clock = time.time_ns) -> ControllerAdapter:
    """The adapter ``config.kind`` names, on the RSU's ``clock``."""
    return REGISTRY[config.kind](config, clock)
