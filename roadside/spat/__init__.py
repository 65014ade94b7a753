"""SPaT: a signal controller's program and readings in, J2735 signal phase and timing out.

``program`` (phases with their duration bounds), ``predict`` (the predictor: pure, time passed
in), ``demand`` (demand per signal group from the RSU's tracks), ``check`` (predictions judged
against the changes that happened: what the rig reports).
"""

from __future__ import annotations

from roadside.spat.check import Defect, SpatCheck, SpatChecker
from roadside.spat.demand import GreenModel, arrivals, likely_green_ns
from roadside.spat.predict import PredictorStats, SpatPredictor
from roadside.spat.program import Phase, ProgramError, SignalProgram, states_from_letters

__all__ = [
    "Defect",
    "GreenModel",
    "Phase",
    "PredictorStats",
    "ProgramError",
    "SignalProgram",
    "SpatCheck",
    "SpatChecker",
    "SpatPredictor",
    "arrivals",
    "likely_green_ns",
    "states_from_letters",
]
