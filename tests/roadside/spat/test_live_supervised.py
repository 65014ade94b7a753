"""The RSU's live SPaT with signal control on (``supervisor.enabled``), on a real SUMO: the
intersection's supervisor is built from its MAP and the controller's program, registered for
commands, stepped at every read; SUMO shows what it decides and the states read back break no
invariant."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.geo import NetToEnu
from hil.intersection import build_intersection, read_net
from roadside.cloudlink.signalplans import SignalPlanBook
from roadside.controllers import SumoControllerConfig, build_adapter
from roadside.controllers.config import SumoGroupMap
from roadside.spat import SpatChecker
from roadside.spat.live import LiveSpat
from roadside.supervisor import SafetyMonitor, SupervisorConfig
from tests.sumo_nets import four_arm_crossing
from vicoop.cloudmodel import AckStatus, Command
from vicoop.serving.spatfeed import SpatFeed
from vicoop.signalplan import PhaseRequest, RequestKind, SignalCommand
from vicoop.spat import ControlMode

libsumo = pytest.importorskip("libsumo")
sumo = pytest.importorskip("sumo")

NS = 1_000_000_000
T0 = 1_764_000_000 * NS


async def test_live_spat_supervises_the_sumo_controller(tmp_path: Path) -> None:
    net_file = four_arm_crossing(tmp_path)
    net = read_net(net_file)
    si = build_intersection(net, "C", NetToEnu.translation(tuple(net.getNode("C").getCoord())))
    links: dict[int, list[int]] = {}
    for (_, index), group in sorted(si.groups.items()):
        links.setdefault(group, []).append(index)
    config = SumoControllerConfig(
        intersection_id="C",
        tls_id="C",
        groups=tuple(SumoGroupMap(signal_group=g, links=tuple(ix)) for g, ix in links.items()),
    )
    binary = str(Path(sumo.SUMO_HOME) / "bin" / "sumo")
    libsumo.start(
        [binary, "-n", str(net_file), "-r", str(tmp_path / "x.rou.xml"), "--no-step-log", "true"]
    )
    try:

        def clock() -> int:
            return T0 + round(float(libsumo.simulation.getTime()) * NS)

        plans = SignalPlanBook()
        live = LiveSpat(
            [build_adapter(config, clock)],
            SpatFeed("rsu-1", ["C"]),
            clock,
            maps={"C": si.map},
            supervisor_config=SupervisorConfig(enabled=True),
            on_supervisor=plans.add,
        )
        await live.start()
        await live.poll()
        sup = plans.supervisors["C"]
        assert live.supervisors == {"C": sup}
        monitor = SafetyMonitor(sup.limits)
        body = SignalCommand(
            "C", "f/1", T0 + 10 * NS, T0 + 120 * NS, PhaseRequest(RequestKind.FORCE_OFF, (0,))
        )
        ack, _ = plans.apply(Command("c1", 1, T0, body), clock())
        assert ack.status is AckStatus.APPLIED
        phases = []
        checker, modes = SpatChecker(), set()
        for step in range(200):
            if step % 10 == 0:  # the coordinator resends its command: it is still meant
                again, _ = plans.apply(Command("c1", 1, T0, body), clock())
                assert again.status is AckStatus.ALREADY_APPLIED
            libsumo.simulationStep()
            await live.poll()
            phases.append(int(libsumo.trafficlight.getPhase("C")))
            reading = await live.adapters[0].read()
            monitor.observe(reading)
            checker.observe(reading)
            checker.record(live.feed.latest["C"])
            modes.add(live.feed.latest["C"].mode)
        await live.stop()
    finally:
        libsumo.close()
    assert not monitor.violations
    # Vehicles were told the truth once the command was taken (a promise made before it came
    # is the site program's): while coordinated, no end the supervisor might break.
    assert ControlMode.COORDINATED in modes and ControlMode.FIXED_TIME in modes
    report = checker.report()
    assert report.changes > 5 and report.predictions_outside == 0, report.defects
    # Forced off at 10 s, stage 0 lasts its minimum in every cycle of the window: the walk of
    # its crosswalks (7 s, longer than the 5 s minimum green).
    starts = [k for k in range(1, 120) if phases[k] == 0 and phases[k - 1] != 0]
    ends = [k for k in range(1, 120) if phases[k] != 0 and phases[k - 1] == 0]
    assert ends[0] == 9  # the poll at 10 s (after step 10) switched it
    assert starts and all(e - s == 7 for s, e in zip(starts, ends[1:], strict=False))
    assert sup.stats.switches > 0 and sup.stats.released == 1
