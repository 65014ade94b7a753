"""The safety supervisor on the programs of real SUMO nets: each refusal reason, what each
request does, and the fallback to the site's own program (window over, no command heard, cloud
link down) and back."""

from __future__ import annotations

import itertools
import logging

import pytest

from roadside.controllers.base import ControllerProgram
from roadside.supervisor import (
    RefusalReason,
    SafetyMonitor,
    SafetySupervisor,
    SupervisorConfig,
)
from tests.roadside.supervisor.programs import BUNDLED, NS, T0, PureController, junctions_of
from tests.sumo_nets import four_arm_crossing
from vicoop.intersection import IntersectionMap
from vicoop.signalplan import (
    PhasePlan,
    PhaseRequest,
    RequestKind,
    SignalCommand,
    StageSplit,
)

R = RefusalReason
Site = tuple[IntersectionMap, ControllerProgram]


@pytest.fixture(scope="module")
def crossing() -> Site:
    """The bundled crossing B1: stages 0 green 42 s, 1 amber 3 s, 2 green 42 s, 3 amber 3 s."""
    return junctions_of(BUNDLED)[0]


@pytest.fixture(scope="module")
def walks(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """A crossing with crosswalks: stages 0 green 37 s (walks of one axis), 1 green 5 s (the
    walks' clearance), 2 amber 3 s, 3-5 the same for the other axis."""
    return junctions_of(four_arm_crossing(tmp_path_factory.mktemp("walks")))[0]


def command(
    iid: str, action: PhasePlan | PhaseRequest, start_s: int = 0, end_s: int = 600
) -> SignalCommand:
    return SignalCommand(iid, "plan/1", T0 + start_s * NS, T0 + end_s * NS, action)


def run(
    sup: SafetySupervisor,
    ctl: PureController,
    seconds: int,
    monitor: SafetyMonitor | None = None,
    link: dict[int, bool] | None = None,
    resend: SignalCommand | None = None,
) -> list[tuple[int, int, bool]]:
    """Step ``seconds`` (1 s steps); the switches as (second, stage, supervised)."""
    out = []
    for _ in range(seconds):
        now = ctl.now_ns
        t = (now - T0) // NS
        if link and t in link:
            sup.link(link[t], now)
        if resend is not None and t % 10 == 0:
            sup.submit(resend, now)
        d = sup.step(now, ctl.stage())
        ctl.apply(d)
        if d.switched:
            out.append((t, d.stage, d.supervised))
        if monitor is not None:
            monitor.observe(ctl.reading())
        ctl.advance(NS)
    return out


def test_each_refusal_has_its_reason_is_counted_and_logged(
    crossing: Site, walks: Site, caplog: pytest.LogCaptureFixture
) -> None:
    the_map, program = crossing
    sup = SafetySupervisor(the_map, program)
    iid = program.intersection_id
    hold = PhaseRequest(RequestKind.HOLD, (0,))
    cases = [
        (SignalCommand("elsewhere", "p", T0, T0 + NS, hold), R.WRONG_INTERSECTION),
        (SignalCommand(iid, "p", T0 - 10 * NS, T0, hold), R.WINDOW_OVER),
        (command(iid, PhaseRequest(RequestKind.FORCE_OFF, (7,))), R.UNKNOWN_STAGE),
        (command(iid, PhaseRequest(RequestKind.HOLD, (1,))), R.NOT_A_GREEN_STAGE),
        (command(iid, PhasePlan(60.0, 0.0, (StageSplit(0, 2.0),))), R.SPLIT_BELOW_MIN_GREEN),
        (
            command(iid, PhasePlan(12.0, 0.0, (StageSplit(0, 5.0), StageSplit(2, 5.0)))),
            R.CYCLE_TOO_SHORT,
        ),
        (command(iid, hold, 0, 3600), R.HOLD_TOO_LONG),
        (command(iid, PhaseRequest(RequestKind.SKIP, (0, 2))), R.SKIPS_EVERY_STAGE),
    ]
    with caplog.at_level(logging.WARNING, logger="roadside.supervisor.supervisor"):
        for cmd, reason in cases:
            refusal = sup.submit(cmd, T0)
            assert refusal is not None and refusal.reason is reason, (cmd, refusal)
            assert refusal.detail
    assert sup.stats.refused == {reason: 1 for _, reason in cases}
    assert sup.stats.accepted == 0 and not sup.commands
    assert "hold_too_long: hold of stage 0 for 3600 s > max red 120 s" in caplog.text

    the_map, program = walks  # green stages 0, 1, 3, 4
    sup = SafetySupervisor(the_map, program)
    out_of_order = PhasePlan(
        90.0, 0.0, (StageSplit(0, 20.0), StageSplit(3, 20.0), StageSplit(1, 5.0))
    )
    refusal = sup.submit(command(program.intersection_id, out_of_order), T0)
    assert refusal is not None and refusal.reason is R.SPLITS_OUT_OF_ORDER
    rotated = PhasePlan(90.0, 0.0, (StageSplit(3, 30.0), StageSplit(0, 30.0)))
    assert sup.submit(command(program.intersection_id, rotated), T0) is None


def test_the_same_command_twice_is_accepted_once(crossing: Site) -> None:
    the_map, program = crossing
    sup = SafetySupervisor(the_map, program)
    cmd = command(program.intersection_id, PhaseRequest(RequestKind.FORCE_OFF, (0,)))
    assert sup.submit(cmd, T0) is None and sup.submit(cmd, T0 + NS) is None
    assert sup.stats.accepted == 1 and sup.commands == [cmd] and sup.heard_ns == T0 + NS


def test_hold_force_off_and_skip_time_the_green_stages(crossing: Site) -> None:
    the_map, program = crossing
    iid = program.intersection_id

    def switches(action: PhaseRequest) -> list[tuple[int, int, bool]]:
        sup = SafetySupervisor(the_map, program)
        monitor = SafetyMonitor(sup.limits)
        assert sup.submit(command(iid, action, 0, 100), T0) is None
        cmd = command(iid, action, 0, 100)
        out = run(sup, PureController(program), 200, monitor, resend=cmd)
        assert not monitor.violations
        return out

    # Hold stage 0 over its 42 s until the window ends at 100 s; then the program again.
    held = switches(PhaseRequest(RequestKind.HOLD, (0,)))  # (resent every 10 s)
    assert held[0] == (100, 1, False)  # handed back as the amber begins
    # Force-off: stage 0 ends at its minimum green (5 s); stage 2 keeps its 42 s.
    forced = switches(PhaseRequest(RequestKind.FORCE_OFF, (0,)))
    assert forced[:3] == [(5, 1, True), (8, 2, True), (50, 3, True)]
    # Skip stage 2: served at its minimum in the fixed sequence.
    skipped = switches(PhaseRequest(RequestKind.SKIP, (2,)))
    assert skipped[:3] == [(42, 1, True), (45, 2, True), (50, 3, True)]


def test_a_plan_reaches_its_cycle_and_offset(crossing: Site) -> None:
    the_map, program = crossing
    sup = SafetySupervisor(the_map, program)
    monitor = SafetyMonitor(sup.limits)
    plan = PhasePlan(60.0, 17.0, (StageSplit(0, 30.0), StageSplit(2, 24.0)))
    cmd = command(program.intersection_id, plan, 0, 900)
    assert sup.submit(cmd, T0) is None
    out = run(sup, PureController(program), 600, monitor, resend=cmd)
    assert not monitor.violations
    starts = [t for t, stage, _ in out if stage == 0]
    # After a few cycles every stage 0 begins on the offset, every cycle lasts 60 s.
    assert [(t - 17) % 60 for t in starts[-4:]] == [0, 0, 0, 0]
    greens = [b - a for (a, s, _), (b, _, _) in itertools.pairwise(out) if s == 0]
    assert greens[-1] == 30


def test_max_red_bounds_every_hold(crossing: Site) -> None:
    the_map, program = crossing
    sup = SafetySupervisor(the_map, program, SupervisorConfig(max_red_s=60.0))
    monitor = SafetyMonitor(sup.limits)
    iid = program.intersection_id
    hold = PhaseRequest(RequestKind.HOLD, (0,))
    first, second = command(iid, hold, 0, 55), command(iid, hold, 50, 105)
    assert sup.submit(first, T0) is None and sup.submit(second, T0) is None
    out = run(sup, PureController(program), 200, monitor, resend=second)
    assert not monitor.violations
    # Stage 2's groups, red since the supervisor first saw them (0 s), are green again within
    # 60 s: stage 0 ends by 56 s (its 3 s amber, one step of margin), not at 105 s.
    assert out[:2] == [(56, 1, True), (59, 2, True)]
    assert sup.stats.max_red_forced == 1


@pytest.mark.parametrize("why", ["window_over", "not_heard", "link_down"])
def test_fallback_to_the_site_program_within_a_cycle_and_back(crossing: Site, why: str) -> None:
    the_map, program = crossing
    cycle_s = sum(st.duration_s for st in program.stages)
    sup = SafetySupervisor(the_map, program, SupervisorConfig(fallback_after_s=60.0))
    monitor = SafetyMonitor(sup.limits)
    ctl = PureController(program)
    force = PhaseRequest(RequestKind.FORCE_OFF, (0,))
    end_s = 200 if why == "window_over" else 1000
    cmd = command(program.intersection_id, force, 0, end_s)
    assert sup.submit(cmd, T0) is None
    link = {150: False, 400: True} if why == "link_down" else None
    resend = None if why == "not_heard" else cmd
    out = run(sup, ctl, 600, monitor, link=link, resend=resend)
    assert not monitor.violations
    lost = {"window_over": 200, "not_heard": 60, "link_down": 150}[why]
    released = [t for t, _, supervised in out if not supervised]
    assert released and lost <= released[0] <= lost + cycle_s
    if why == "link_down":  # the link back, the command (still in its window) applies again
        resumed = [t for t, _, supervised in out if supervised and t >= 400]
        assert resumed and resumed[0] <= 400 + cycle_s
        assert not any(t < 400 for t in resumed if t > released[0])
    else:
        assert all(not s for t, _, s in out if t > released[0])


def test_taking_over_as_a_green_begins_still_serves_its_minimum(crossing: Site) -> None:
    """A force-off whose window opens the very step the controller (on its own) enters stage
    2: the supervisor judges the stage it sees now, so stage 2 gets its 5 s (it ended at once,
    a 0 s green, before the fix)."""
    the_map, program = crossing
    sup = SafetySupervisor(the_map, program)
    monitor = SafetyMonitor(sup.limits)
    cmd = command(program.intersection_id, PhaseRequest(RequestKind.FORCE_OFF, (2,)), 45, 200)
    assert sup.submit(cmd, T0) is None
    out = run(sup, PureController(program), 60, monitor, resend=cmd)
    assert out[0] == (50, 3, True)
    assert not monitor.violations


def test_a_controller_moved_by_someone_else_is_followed_not_jumped_back(crossing: Site) -> None:
    the_map, program = crossing
    sup = SafetySupervisor(the_map, program)
    monitor = SafetyMonitor(sup.limits)
    ctl = PureController(program)
    hold = command(program.intersection_id, PhaseRequest(RequestKind.HOLD, (0,)), 0, 100)
    assert sup.submit(hold, T0) is None
    run(sup, ctl, 20, monitor)
    ctl.pos, ctl.since_ns = 1, ctl.now_ns  # a technician ends stage 0 (its amber begins)
    out = run(sup, ctl, 30, monitor)
    assert sup.stats.mismatches == 1
    # The supervisor follows: amber served in full (3 s), then stage 2, never back to 0 first.
    assert out[0] == (23, 2, True)
    assert not monitor.violations
