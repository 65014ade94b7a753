"""Signal coordination in the cloud: coordinators that turn what the twin receives from the RSUs
(per-movement measures, the controllers' SPaT) into ``vicoop.signalplan.SignalCommand``\\ s.

Pure: a coordinator takes observations and the time and returns commands; it never reads a
clock, a socket or the simulator (an import-linter contract keeps ``hil`` and SUMO out of this
package). Chosen by name from ``REGISTRY``:

- ``fixed``: issues nothing, the sites' own programs run;
- ``max_pressure``: Varaiya's max-pressure control (``max_pressure``);
- ``adaptive``: ours (``adaptive``).
"""

from __future__ import annotations

from cloud.coordination.adaptive import AdaptiveCoordinator
from cloud.coordination.base import (
    CommandIssuer,
    Coordinator,
    Observation,
    SiteProgram,
    StageView,
)
from cloud.coordination.fixed import FixedCoordinator
from cloud.coordination.max_pressure import MaxPressureCoordinator, stage_pressures

__all__ = [
    "REGISTRY",
    "AdaptiveCoordinator",
    "CommandIssuer",
    "Coordinator",
    "FixedCoordinator",
    "MaxPressureCoordinator",
    "Observation",
    "SiteProgram",
    "StageView",
    "make_coordinator",
    "stage_pressures",
]

REGISTRY: dict[str, type[Coordinator]] = {
    "fixed": FixedCoordinator,
    "max_pressure": MaxPressureCoordinator,
    "adaptive": AdaptiveCoordinator,
}


def make_coordinator(name: str, sites: tuple[SiteProgram, ...]) -> Coordinator:
    """The coordinator ``name`` for ``sites`` (a ``KeyError`` naming the known ones)."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown coordinator {name!r} (known: {', '.join(REGISTRY)})") from None
    return cls(sites)
