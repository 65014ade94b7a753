"""The ``sumo`` controller adapter on a real SUMO (libsumo) running a four-arm signalised
crossing that ``netconvert`` builds: it reports the light's states, since when, and windows
that hold the switches SUMO makes; its program is the light's."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from hil.geo import NetToEnu
from hil.intersection import SumoIntersection, build_intersection, read_net
from roadside.controllers import SumoControllerConfig, build_adapter
from roadside.controllers.base import Decision
from roadside.controllers.config import SumoGroupMap
from roadside.controllers.sumo import LETTERS, SumoAdapter
from roadside.spat import SpatChecker, SpatPredictor
from roadside.supervisor import SafetyMonitor, SafetySupervisor, SupervisorConfig
from tests.sumo_nets import four_arm_crossing
from vicoop.signalplan import PhasePlan, PhaseRequest, RequestKind, SignalCommand, StageSplit
from vicoop.spat import ControllerReading, ControlMode, MovementPhaseState

libsumo = pytest.importorskip("libsumo")
sumo = pytest.importorskip("sumo")

NS = 1_000_000_000
T0 = 1_764_000_000 * NS
S = MovementPhaseState
QUIET = ("--no-step-log", "true", "--no-warnings", "true", "--duration-log.disable", "true")


@dataclass
class Run:
    si: SumoIntersection
    adapter: SumoAdapter
    lib: ModuleType

    def clock(self) -> int:
        """The RSU's clock: the simulation's time from T0."""
        return T0 + round(float(self.lib.simulation.getTime()) * NS)


@pytest.fixture(params=["static", "actuated"])
def sumo_run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Run]:
    net_file = four_arm_crossing(tmp_path, str(request.param))
    net = read_net(net_file)
    si = build_intersection(net, "C", NetToEnu.translation(tuple(net.getNode("C").getCoord())))
    links: dict[int, list[int]] = {}
    for (_, index), group in sorted(si.groups.items()):
        links.setdefault(group, []).append(index)
    config = SumoControllerConfig(
        intersection_id="C",
        tls_id="C",
        groups=tuple(SumoGroupMap(signal_group=g, links=tuple(ls)) for g, ls in links.items()),
    )
    binary = str(Path(sumo.SUMO_HOME) / "bin" / "sumo")
    libsumo.start([binary, "-n", str(net_file), "-r", str(tmp_path / "x.rou.xml"), *QUIET])
    try:
        run = Run(si, None, libsumo)  # type: ignore[arg-type]
        adapter = build_adapter(config, run.clock)
        assert isinstance(adapter, SumoAdapter)
        run.adapter = adapter
        yield run
    finally:
        libsumo.close()


async def test_the_adapter_reports_what_sumo_shows_and_when_it_switches(sumo_run: Run) -> None:
    run, tl = sumo_run, libsumo.trafficlight
    await run.adapter.start()
    static = run.si.program.mode is ControlMode.FIXED_TIME
    readings: list[ControllerReading] = []
    shown: list[str] = []
    for _ in range(200):  # over two 90 s cycles, 1 s steps
        readings.append(await run.adapter.read())
        shown.append(str(tl.getRedYellowGreenState("C")))
        libsumo.simulationStep()
    await run.adapter.stop()
    assert run.adapter.stats.accepted == 200 and run.adapter.stats.rejected_total == 0

    links = {g.signal_group: g.links for g in run.adapter.config.groups}
    changes = 0
    for k, r in enumerate(readings):
        assert r.intersection_id == "C" and r.read_at_ns == T0 + k * NS
        assert r.mode is (ControlMode.FIXED_TIME if static else ControlMode.ACTUATED)
        for g in r.groups:
            letter = shown[k][links[g.signal_group][0]]
            if letter == "y":
                assert g.state in (S.PROTECTED_CLEARANCE, S.PERMISSIVE_CLEARANCE)
            else:
                assert g.state is LETTERS[letter]
            # The window of the state's end holds the switch SUMO makes. SUMO switches a light
            # at the start of a step: the reading at the switch's time (taken after the step
            # before) still shows the old state, the next one the new state with the switch's
            # time as its since (getSpentDuration counts from it).
            later = [
                T0 + (j - 1) * NS
                for j in range(k + 1, len(readings))
                if shown[j][links[g.signal_group][0]] != letter
            ]
            assert g.min_end_ns is not None and g.max_end_ns is not None
            assert g.min_end_ns <= g.max_end_ns
            if later:
                assert g.min_end_ns <= later[0] <= g.max_end_ns
                if static:
                    assert g.min_end_ns == g.max_end_ns == later[0]
            # Since when: the switch before the first reading that showed it.
            earlier = [j for j in range(k) if shown[j][links[g.signal_group][0]] != letter]
            if earlier and g.since_ns is not None:
                assert g.since_ns == T0 + earlier[-1] * NS
            elif earlier and static:
                pytest.fail(f"group {g.signal_group} at {k} s: no since in a static program")
            changes += len(later) > 0
    assert changes > 0

    # The adapter's readings and the junction's program drive the SPaT predictor: no defect.
    predictor = SpatPredictor("C", run.si.program)
    checker = SpatChecker()
    for r in readings:
        checker.observe(r)
        checker.record(predictor.predict(r, r.read_at_ns))
    report = checker.report()
    assert report.changes > 20 and report.predictions > 0
    assert report.predictions_outside == 0, report.defects
    if static:
        assert report.likely_error_max_s == 0.0


async def test_the_adapter_reports_the_lights_program(sumo_run: Run) -> None:
    run = sumo_run
    await run.adapter.start()
    program = await run.adapter.program()
    await run.adapter.stop()
    assert program.intersection_id == "C"
    assert len(program.stages) == 6
    assert [s.duration_s for s in program.stages] == [37.0, 5.0, 3.0, 37.0, 5.0, 3.0]
    static = run.si.program.mode is ControlMode.FIXED_TIME
    if static:
        assert program.mode is ControlMode.FIXED_TIME and program.cycle_s == 90.0
    else:
        assert program.mode is ControlMode.ACTUATED and program.cycle_s is None
        assert (program.stages[0].min_s, program.stages[0].max_s) == (5.0, 50.0)
    # The north-south through movement: protected green for stages 0 and 1, then 3 s amber.
    ns = next(
        c.signal_group
        for c in run.si.map.connections
        if run.si.map.lane(c.from_lane).name == "NC_1" and run.si.map.lane(c.to_lane).name == "CS_1"
    )
    assert ns is not None
    timing = next(t for t in program.groups if t.signal_group == ns)
    assert timing.min_green_s == (42.0 if static else 10.0)
    assert timing.max_green_s == (42.0 if static else 55.0)
    assert timing.yellow_change_s == 3.0
    assert dict(program.stages[0].states)[ns] is S.PROTECTED_MOVEMENT_ALLOWED
    assert dict(program.stages[2].states)[ns] is S.PROTECTED_CLEARANCE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_adapter_reads_a_sumo_server_through_traci(tmp_path: Path) -> None:
    pytest.importorskip("traci")
    net = four_arm_crossing(tmp_path)
    port = free_port()
    binary = str(Path(sumo.SUMO_HOME) / "bin" / "sumo")
    server = subprocess.Popen(
        [binary, "-n", str(net), "--remote-port", str(port), "--end", "100", *QUIET],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        config = SumoControllerConfig(
            intersection_id="C", tls_id="C", backend="traci", traci_port=port
        )
        adapter = SumoAdapter(config, clock=lambda: T0)
        await adapter.start()
        readings = []
        for _ in range(40):
            readings.append(await adapter.read())
            adapter.traci.simulationStep()
        program = await adapter.program()
        await adapter.stop()
        assert adapter.traci is None
        assert server.wait(timeout=60) == 0  # SUMO ends when its client closes
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert adapter.stats.rejected_total == 0
    # No groups configured: one group per link, link i as group i + 1 (20 links).
    assert [g.signal_group for g in readings[0].groups] == list(range(1, 21))
    assert all(r.mode is ControlMode.FIXED_TIME for r in readings)
    # Link 1 (north to south, straight) is green until SUMO switches at 42 s.
    first = readings[0].groups[1]
    assert first.state is S.PROTECTED_MOVEMENT_ALLOWED
    assert first.min_end_ns == first.max_end_ns == T0 + 42 * NS
    assert readings[39].groups[1].min_end_ns == T0 + (42 - 39) * NS
    assert program.mode is ControlMode.FIXED_TIME and program.cycle_s == 90.0


async def test_the_write_side_executes_the_supervisors_decisions_in_sumo(sumo_run: Run) -> None:
    """A force-off, then a coordination plan, then the site program again: SUMO shows what the
    supervisor decided each step, the states SUMO shows (read back by the adapter) break no
    invariant, and after the command's window SUMO runs its own program again."""
    run, tl = sumo_run, libsumo.trafficlight
    await run.adapter.start()
    program = await run.adapter.program()
    sup = SafetySupervisor(run.si.map, program, SupervisorConfig(fallback_after_s=300.0))
    monitor = SafetyMonitor(sup.limits)
    force_off = SignalCommand(
        "C", "f", T0 + 10 * NS, T0 + 60 * NS, PhaseRequest(RequestKind.FORCE_OFF, (0,))
    )
    plan = SignalCommand(
        "C",
        "p",
        T0 + 60 * NS,
        T0 + 240 * NS,
        PhasePlan(50.0, 20.0, (StageSplit(0, 14.0), StageSplit(3, 14.0))),
    )
    assert sup.submit(force_off, run.clock()) is None
    assert sup.submit(plan, run.clock()) is None
    switches: list[tuple[float, Decision]] = []
    for _ in range(420):
        now = run.clock()
        monitor.observe(await run.adapter.read())
        state = await run.adapter.stage()
        assert state is not None
        decision = sup.step(now, state)
        await run.adapter.apply(decision)
        assert int(tl.getPhase("C")) == decision.stage
        if decision.switched:
            switches.append((float(libsumo.simulation.getTime()), decision))
        libsumo.simulationStep()
    await run.adapter.stop()
    assert not monitor.violations
    # The force-off ends stage 0 (green since 0 s, its minimum served) as its window opens
    # (the actuated program had left it already, and its next stage had run its time).
    assert switches[0][0] == 10.0 and switches[0][1].plan_id == "f"
    if program.mode is ControlMode.FIXED_TIME:
        assert switches[0][1] == Decision(1, True, True, "f")
    # The plan's cycle (50 s): stage 0 begins on the plan's offset once it has caught up.
    starts = [t for t, d in switches if d.stage == 0 and d.plan_id == "p"]
    assert len(starts) >= 3 and [(t - 20.0) % 50.0 for t in starts[-2:]] == [0.0, 0.0]
    # Handed back within a cycle of the window's end; SUMO runs its own program again.
    released = [t for t, d in switches if not d.supervised]
    assert released and 240.0 <= released[0] <= 240.0 + 90.0
    assert sup.stats.released >= 1 and not sup.supervised
    assert float(tl.getNextSwitch("C")) < float(libsumo.simulation.getTime()) + 60
