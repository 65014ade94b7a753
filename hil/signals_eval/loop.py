"""A cloud coordinator closed loop on a running SUMO scenario, every signalised junction
controlled, through the same code as deployed:

::

    SUMO road users ─► sensor models (RsuView) ─► the RSU's movement measures (summary) ─┐
                                                       (late by the link's latency)      │
    SUMO light ─► SumoAdapter (the RSU's controller adapter): stage, since when ─────────┤
                                                                                         ▼
                         coordinator.decide(observations, now)  (cloud.coordination, pure)
                                                                                         │
                                       SignalCommand ─► SafetySupervisor.submit ◄────────┘
    each step: SafetySupervisor.step ─► SumoAdapter.execute (the write side) ─► SUMO light
               SafetyMonitor.observe(the adapter's reading): every invariant, every step

The coordinator sees only what the twin would hold (measures from tracks and the controller's
stage); nothing it gets comes from SUMO's lane occupancy, detectors or vehicle lists.
``fixed`` issues no command, so its run is the city program as shipped, still judged by the
monitor at every step.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cloud.coordination import Observation, SiteProgram, StageView, make_coordinator
from hil.geo import NetToEnu
from hil.intersection import SumoIntersection, read_net
from hil.rigspat import with_spat
from hil.signals_eval.perception import DelayLine, RsuView
from hil.site import Site, SiteRsu, generate_site, intersection_id
from hil.sumo import SumoSim
from roadside.cloudlink.summary import MovementLayout, movement_measures
from roadside.controllers.base import ControllerProgram
from roadside.controllers.config import SumoControllerConfig
from roadside.controllers.sumo import SumoAdapter
from roadside.supervisor import SafetyMonitor, SafetySupervisor, StageState, SupervisorConfig
from vicoop.cloudmodel import MovementMeasure
from vicoop.intersection import LaneDirection
from vicoop.spat import MovementPhaseState

__all__ = ["LoopStats", "closed_loop", "site_program"]

log = logging.getLogger(__name__)

T0_NS = 1_700_000_000_000_000_000  # the run's clock at SUMO time 0 (any fixed epoch will do)
NS = 1_000_000_000


@dataclass(frozen=True)
class LoopStats:
    """What a closed-loop run counted: commands issued, refused by the supervisors, and the
    safety monitors' violations over every step."""

    commands: int = 0
    refused: int = 0
    safety_violations: int = 0


@dataclass
class _Junction:
    """One controlled junction: its RSU's view, measures on their way to the twin, and the
    RSU's controller path (adapter, supervisor, monitor)."""

    site_rsu: SiteRsu
    to_enu: NetToEnu
    si: SumoIntersection
    layout: MovementLayout
    view: RsuView
    adapter: SumoAdapter
    program: ControllerProgram
    supervisor: SafetySupervisor
    monitor: SafetyMonitor
    to_twin: DelayLine[tuple[StageState, tuple[MovementMeasure, ...]]]

    @property
    def intersection_id(self) -> str:
        return self.si.map.intersection_id


def site_program(program: ControllerProgram, si: SumoIntersection) -> SiteProgram:
    """What the twin knows of a site's program: its stages (a stage with an amber is a
    clearance, no green a coordinator may time) and each group's ingress lanes."""
    stages = []
    for st in program.stages:
        states = [s for _, s in st.states]
        amber = any(s.name.endswith("CLEARANCE") or s.name == "PRE_MOVEMENT" for s in states)
        greens = tuple(g for g, s in st.states if s.may_proceed)
        permissive = tuple(
            g for g, s in st.states if s is MovementPhaseState.PERMISSIVE_MOVEMENT_ALLOWED
        )
        stages.append(
            StageView(st.index, greens, st.duration_s, st.min_s, st.max_s, amber, permissive)
        )
    ingress = {lane.lane_id for lane in si.map.lanes if lane.direction is LaneDirection.INGRESS}
    lanes = tuple(
        (g, len({c.from_lane for c in si.map.connections if c.signal_group == g} & ingress))
        for g in si.map.group_ids
    )
    return SiteProgram(program.intersection_id, tuple(stages), lanes)


def _junction(
    sim: SumoSim, site: Site, site_rsu: SiteRsu, net: Any, clock: list[int], seed: int
) -> _Junction | None:
    if site.geo_referenced:
        to_enu = NetToEnu.fit(sim.to_lonlat, site_rsu.rsu.origin.to_model(), site_rsu.junction_xy_m)
    else:
        to_enu = NetToEnu.translation(site_rsu.junction_xy_m)
    spat = with_spat(
        site_rsu.rsu, net, site_rsu.junction, intersection_id(site_rsu.junction), to_enu
    )
    if spat is None:
        return None
    config, si = spat
    controller = config.spat.controllers[0]
    assert isinstance(controller, SumoControllerConfig)
    import libsumo

    adapter = SumoAdapter(controller, clock=lambda: clock[0], traci=libsumo)
    program = asyncio.run(adapter.program())
    supervisor = SafetySupervisor(si.map, program, SupervisorConfig())
    sim.watch(site_rsu.junction, site.watch_radius_m)
    return _Junction(
        site_rsu,
        to_enu,
        si,
        MovementLayout.of(si.map),
        RsuView(site_rsu, sim.step_length_s, np.random.default_rng(seed)),
        adapter,
        program,
        supervisor,
        SafetyMonitor(supervisor.limits),
        DelayLine(),
    )


def closed_loop(
    name: str | None, sim: SumoSim, end_s: float, workdir: Path, seed: int
) -> LoopStats:
    """Run ``sim`` (not started) to ``end_s`` with coordinator ``name`` in the loop (see the
    module); the site (an RSU per signalised junction, the rig's sensors) is generated into
    ``workdir``. ``name`` None: SUMO's own controllers run the lights (no coordinator, no
    supervisor), and only the safety monitor watches them, every step."""
    site = generate_site(sim.sumocfg, site_path=workdir / "eval.site.yaml")
    net = read_net(sim.net) if sim.net is not None else None
    commands = refused = 0
    clock = [T0_NS]
    with sim:
        if net is None:
            from hil.sumo import net_file

            net = read_net(net_file(sim.sumocfg))
        junctions = [
            j
            for k, r in enumerate(site.rsus)
            if (j := _junction(sim, site, r, net, clock, seed * 1000 + k)) is not None
        ]
        by_id = {j.intersection_id: j for j in junctions}
        coordinator = (
            None
            if name is None
            else make_coordinator(name, tuple(site_program(j.program, j.si) for j in junctions))
        )
        while sim.time_s < end_s - 1e-9:
            now = T0_NS + round(sim.step() * NS)
            clock[0] = now
            if coordinator is None:
                for j in junctions:
                    reading = j.adapter.poll()
                    if reading is not None:
                        j.monitor.observe(reading)
                continue
            observations = []
            for j in junctions:
                frame = j.view.observe(sim.road_users(j.site_rsu.junction, j.to_enu, now))
                stage = j.adapter.stage_state()
                if stage is not None:
                    measures = tuple(movement_measures(frame, j.si.map, j.layout))
                    j.to_twin.push((stage, measures), frame.published_at_ns)
                seen = j.to_twin.latest(now)
                if seen is not None:
                    observations.append(
                        Observation(
                            j.intersection_id, now, seen[0].stage, seen[0].since_ns, seen[1]
                        )
                    )
            for command in coordinator.decide(observations, now):
                commands += 1
                if by_id[command.intersection_id].supervisor.submit(command, now) is not None:
                    refused += 1
            for j in junctions:
                stage = j.adapter.stage_state()
                if stage is None:
                    continue
                j.adapter.execute(j.supervisor.step(now, stage))
                reading = j.adapter.poll()
                if reading is not None:
                    j.monitor.observe(reading)
    violations = sum(sum(j.monitor.counts.values()) for j in junctions)
    for j in junctions:
        if j.monitor.counts:
            log.warning("%s: safety violations %s", j.intersection_id, dict(j.monitor.counts))
    return LoopStats(commands, refused, violations)
