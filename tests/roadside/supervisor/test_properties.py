"""Property tests: whatever sequence of signal commands arrives (random plans, holds,
force-offs, skips, windows; hostile ones too: zero and huge greens, endless holds, skips of
every stage, stages the program lacks or that are clearances), a pure controller driven by the
supervisor never breaks an invariant the ``SafetyMonitor`` checks at every step, and every
refusal has a reason. Programs are those of real SUMO nets: the bundled crossing, and the
shared city nets when present."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadside.supervisor import RefusalReason, SafetyMonitor, SafetySupervisor, SupervisorConfig
from tests.roadside.supervisor.programs import NS, T0, PureController, junctions_of, nets
from vicoop.signalplan import (
    PhasePlan,
    PhaseRequest,
    RequestKind,
    SignalCommand,
    SignalPlanError,
    StageSplit,
)

DT_NS = NS  # 1 s steps
STEPS = 900

_cache: dict[Path, list] = {}


def sites(path: Path) -> list:
    if path not in _cache:
        _cache[path] = junctions_of(path)
    return _cache[path]


@st.composite
def commands(draw: st.DrawFn, iid: str, n_stages: int) -> tuple[int, SignalCommand | None, bool]:
    """(step it arrives, the command or None if the kernel rejects it as malformed, link up)."""
    at = draw(st.integers(0, STEPS - 1))
    start = T0 + draw(st.integers(-60, STEPS)) * NS
    length = draw(st.sampled_from([1, 5, 30, 120, 600, 10_000])) * NS
    stage = st.integers(0, n_stages + 2)  # some not in the program
    kind = draw(st.sampled_from(["plan", "hold", "force_off", "skip"]))
    try:
        if kind == "plan":
            stages = draw(st.lists(stage, min_size=1, max_size=n_stages, unique=True))
            splits = tuple(
                StageSplit(s, draw(st.sampled_from([0.5, 1.0, 4.0, 10.0, 25.0, 60.0, 200.0])))
                for s in stages
            )
            cycle = draw(st.sampled_from([20.0, 45.0, 60.0, 90.0, 120.0, 300.0]))
            offset = draw(st.floats(0.0, cycle, exclude_max=True))
            action: PhasePlan | PhaseRequest = PhasePlan(cycle, offset, splits)
        elif kind == "skip":
            stages = draw(st.lists(stage, min_size=1, max_size=n_stages, unique=True))
            action = PhaseRequest(RequestKind.SKIP, tuple(stages))
        else:
            k = RequestKind.HOLD if kind == "hold" else RequestKind.FORCE_OFF
            action = PhaseRequest(k, (draw(stage),))
        cmd = SignalCommand(iid, f"p{at}", start, start + length, action)
    except SignalPlanError:
        cmd = None
    return at, cmd, draw(st.booleans()) or draw(st.booleans())


@pytest.mark.parametrize("dt_ns", [NS, NS // 4], ids=["1s", "0.25s"])
@pytest.mark.parametrize("net", nets())
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_command_sequence_breaks_an_invariant(
    net: Path, dt_ns: int, data: st.DataObject
) -> None:
    the_map, program = data.draw(st.sampled_from(sites(net)))
    n = len(program.stages)
    arrivals = data.draw(st.lists(commands(program.intersection_id, n), max_size=12))
    sup = SafetySupervisor(the_map, program, SupervisorConfig(fallback_after_s=120.0))
    monitor = SafetyMonitor(sup.limits)
    ctl = PureController(program)
    by_step: dict[int, list[tuple[SignalCommand | None, bool]]] = {}
    for at, cmd, up in arrivals:
        by_step.setdefault(at, []).append((cmd, up))
    refused = 0
    for step in range(STEPS * NS // dt_ns):
        now = ctl.now_ns
        for cmd, up in by_step.get(step * dt_ns // NS if (step * dt_ns) % NS == 0 else -1, []):
            sup.link(up, now)
            if cmd is not None:
                refusal = sup.submit(cmd, now)
                refused += refusal is not None
                assert refusal is None or (
                    isinstance(refusal.reason, RefusalReason) and refusal.detail
                )
        assert not monitor.observe(ctl.reading()), monitor.violations
        ctl.apply(sup.step(now, ctl.stage()))
        assert not monitor.observe(ctl.reading()), monitor.violations
        ctl.advance(dt_ns)
    assert sum(sup.stats.refused.values()) == refused  # every refusal counted by reason


@pytest.mark.parametrize("net", nets())
def test_the_site_program_alone_breaks_no_invariant(net: Path) -> None:
    for the_map, program in sites(net):
        sup = SafetySupervisor(the_map, program)
        monitor = SafetyMonitor(sup.limits)
        ctl = PureController(program)
        for _ in range(STEPS):
            monitor.observe(ctl.reading())
            ctl.advance(DT_NS)
        assert not monitor.violations
