"""Closed-loop evaluation of signal coordinators on SUMO scenarios (``vicoop signals eval``)."""

from __future__ import annotations

from hil.signals_eval.metrics import TripFigures, read_tripinfo
from hil.signals_eval.run import (
    BASELINES,
    ControllerResult,
    EvalOptions,
    EvalResult,
    controller_names,
    run_eval,
)

__all__ = [
    "BASELINES",
    "ControllerResult",
    "EvalOptions",
    "EvalResult",
    "TripFigures",
    "controller_names",
    "read_tripinfo",
    "run_eval",
]
