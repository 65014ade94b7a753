"""The RSU's signal safety: what no cloud command can break at an intersection.

- ``SafetySupervisor`` (``supervisor``): between every ``vicoop.signalplan.SignalCommand`` and
  the controller adapter's write side (``roadside.controllers.base.ControllerWriter``); decides
  the stage each step, refuses what it cannot honour safely (``Refusal``, ``RefusalReason``),
  falls back to the site's program;
- ``SafetyMonitor`` (``monitor``): the invariants checked on the states as seen, every step;
- ``SafetyLimits`` (``limits``): the limits, from the MAP, the program and ``SupervisorConfig``.
"""

from __future__ import annotations

from roadside.controllers.base import Decision, StageState
from roadside.supervisor.config import SupervisorConfig
from roadside.supervisor.limits import SafetyLimits
from roadside.supervisor.monitor import Invariant, SafetyMonitor, Violation
from roadside.supervisor.supervisor import (
    Refusal,
    RefusalReason,
    SafetySupervisor,
    SupervisorStats,
)

__all__ = [
    "Decision",
    "Invariant",
    "Refusal",
    "RefusalReason",
    "SafetyLimits",
    "SafetyMonitor",
    "SafetySupervisor",
    "StageState",
    "SupervisorConfig",
    "SupervisorStats",
    "Violation",
]
