"""Programs from real SUMO nets, and a pure controller that executes the supervisor's
decisions (a fake of a controller adapter's write side)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hil.geo import NetToEnu
from hil.intersection import SumoIntersection, build_intersection, read_net, signalised_junctions
from roadside.controllers.base import ControllerProgram, Decision, StageState
from roadside.controllers.sumo import SumoPhase, program_of
from vicoop.intersection import IntersectionMap
from vicoop.spat import ControllerReading, ControlMode, GroupReading

NS = 1_000_000_000
T0 = 1_764_000_000 * NS
REPO = Path(__file__).resolve().parents[3]
BUNDLED = REPO / "hil" / "scenarios" / "crossing" / "crossing.net.xml"
SHARED = REPO.parent / "shared" / "scenarios"
CITY_NETS = ("cologne1", "cologne3", "ingolstadt1")


def program_from(si: SumoIntersection, net: Any) -> ControllerProgram:
    """The junction's traffic light program as the ``sumo`` adapter reads it (its first
    program, the adapter's signal groups = the MAP's)."""
    programs = net.getTLS(si.tls_id).getPrograms()
    logic = programs[sorted(programs)[0]]
    n = len(logic.getPhases())
    phases = [
        SumoPhase(
            str(p.state),
            float(p.duration),
            float(p.minDur) if p.minDur is not None and p.minDur >= 0 else float(p.duration),
            float(p.maxDur) if p.maxDur is not None and p.maxDur >= 0 else float(p.duration),
            bool(p.next) and tuple(p.next) != ((k + 1) % n,),
        )
        for k, p in enumerate(logic.getPhases())
    ]
    links: dict[int, list[int]] = {}
    for (_, index), group in sorted(si.groups.items()):
        links.setdefault(group, []).append(index)
    mode = (
        ControlMode.ACTUATED
        if logic.getType() in ("actuated", "delay_based", "NEMA")
        else ControlMode.FIXED_TIME
    )
    return program_of(
        si.map.intersection_id, phases, [(g, tuple(ix)) for g, ix in links.items()], mode
    )


def junctions_of(net_file: Path) -> list[tuple[IntersectionMap, ControllerProgram]]:
    """Every signalised junction of a net (controlled by one traffic light) as its MAP and
    program."""
    net = read_net(net_file)
    out = []
    for j in signalised_junctions(net):
        xy = tuple(net.getNode(j).getCoord())[:2]
        try:
            si = build_intersection(net, j, NetToEnu.translation(xy))  # type: ignore[arg-type]
        except Exception:  # several lights on one junction: not a site the RSU runs
            continue
        out.append((si.map, program_from(si, net)))
    return out


def nets() -> list[Any]:
    """The bundled crossing and the shared city nets (skipped with a reason when absent)."""
    params: list[Any] = [pytest.param(BUNDLED, id="crossing")]
    for name in CITY_NETS:
        path = SHARED / name / f"{name}.net.xml"
        params.append(
            pytest.param(
                path,
                id=name,
                marks=pytest.mark.skipif(not path.exists(), reason=f"{path} is not here"),
            )
        )
    return params


@dataclass
class PureController:
    """A controller that runs ``program`` on its own (each stage its nominal duration) and
    obeys the supervisor's decisions, stepped by ``dt_ns``; reports its stage and readings."""

    program: ControllerProgram
    now_ns: int = T0
    pos: int = 0
    since_ns: int = T0
    held: bool = False

    def stage(self) -> StageState:
        return StageState(self.program.stages[self.pos].index, self.since_ns)

    def reading(self) -> ControllerReading:
        st = self.program.stages[self.pos]
        return ControllerReading(
            self.program.intersection_id,
            self.now_ns,
            self.program.mode,
            tuple(GroupReading(g, s) for g, s in st.states),
        )

    def apply(self, d: Decision) -> None:
        index = {s.index: k for k, s in enumerate(self.program.stages)}[d.stage]
        if (d.supervised or d.switched) and index != self.pos:
            self.pos, self.since_ns = index, self.now_ns
        self.held = d.supervised

    def advance(self, dt_ns: int) -> None:
        self.now_ns += dt_ns
        if self.held:
            return
        st = self.program.stages[self.pos]
        if self.now_ns - self.since_ns >= round(st.duration_s * NS):
            self.pos = (self.pos + 1) % len(self.program.stages)
            self.since_ns = self.now_ns
