"""The hardware-in-the-loop rig: SUMO co-simulation, simulated sensors, fault injection, scoring.

``vicoop hil run --scenario PATH --duration S [--realtime] [--faults ...] --json OUT.json`` drives
real RSU daemons through their real inputs (VRAD radar and JSON camera datagrams over UDP) from a
SUMO scenario, subscribes as vehicle clients over gRPC and scores what they receive against
SUMO's ground truth. Pure cores: ``hil.sensors`` (sensor models), ``hil.scoring``, ``hil.faults``
(outcome checks), ``hil.site``, ``hil.ports``, ``hil.result`` (the typed result and its JSON);
adapters: ``hil.sumo``, ``hil.rsu`` (the RSU under test), ``hil.participants``, ``hil.links``,
``hil.barrier`` (lock-step), ``hil.rig``.
"""

from __future__ import annotations

from hil.errors import HilError, ScenarioError
from hil.rig import Rig, RigOptions
from hil.site import Site, SiteRsu, generate_site, load_site

__all__ = [
    "HilError",
    "Rig",
    "RigOptions",
    "ScenarioError",
    "Site",
    "SiteRsu",
    "generate_site",
    "load_site",
]
