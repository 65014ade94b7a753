"""The safety monitor finds each broken invariant in states fed to it (the limits of real
SUMO programs), and judges nothing whose start it did not see."""

from __future__ import annotations

import pytest

from roadside.supervisor import Invariant, SafetyLimits, SafetyMonitor, SupervisorConfig
from tests.roadside.supervisor.programs import BUNDLED, NS, T0, junctions_of
from tests.sumo_nets import four_arm_crossing
from vicoop.spat import MovementPhaseState

S = MovementPhaseState
RED, GREEN, AMBER = S.STOP_AND_REMAIN, S.PROTECTED_MOVEMENT_ALLOWED, S.PROTECTED_CLEARANCE


@pytest.fixture(scope="module")
def vehicles() -> SafetyLimits:
    the_map, program = junctions_of(BUNDLED)[0]
    return SafetyLimits.build(the_map, program, SupervisorConfig())


@pytest.fixture(scope="module")
def walks(tmp_path_factory: pytest.TempPathFactory) -> SafetyLimits:
    the_map, program = junctions_of(four_arm_crossing(tmp_path_factory.mktemp("walks")))[0]
    return SafetyLimits.build(the_map, program, SupervisorConfig())


def feed(
    limits: SafetyLimits, changes: dict[float, dict[int, S]], until_s: float
) -> list[Invariant]:
    """Every group red from -1 s (seen), then ``changes`` (second -> the groups that change),
    observed every 0.5 s to ``until_s``; the invariants broken, in order."""
    monitor = SafetyMonitor(limits)
    states = {g: RED for g in limits.groups}
    t = -1.0
    while t <= until_s:
        states |= changes.get(t, {})
        monitor.observe_states(T0 + round(t * NS), dict(states))
        t += 0.5
    return [v.invariant for v in monitor.violations]


def pair(limits: SafetyLimits, crosswalk: bool) -> tuple[int, int, float]:
    """A conflicting pair (a, b) that needs a clearance from a's green to b's, and how long."""
    return next(
        (a, b, need)
        for (a, b), need in sorted(limits.intergreen_s.items())
        if need > 0 and (a in limits.crosswalk_groups) is crosswalk
    )


def test_conflicting_greens(vehicles: SafetyLimits) -> None:
    a, b = next(p for p in sorted(vehicles.conflicts) if p not in vehicles.co_green)
    assert feed(vehicles, {0: {a: GREEN, b: GREEN}}, 2)[:1] == [Invariant.CONFLICTING_GREENS]


def test_a_pair_the_program_shows_green_together_is_no_conflict(walks: SafetyLimits) -> None:
    a, b = sorted(walks.co_green)[0]
    assert feed(walks, {0: {a: S.PERMISSIVE_MOVEMENT_ALLOWED, b: GREEN}}, 2) == []


def test_a_short_green_amber_or_walk(vehicles: SafetyLimits, walks: SafetyLimits) -> None:
    g = vehicles.groups[0]
    short = vehicles.min_green_s[g] - 1
    assert feed(vehicles, {0: {g: GREEN}, short: {g: AMBER}, 10: {g: RED}}, 12) == [
        Invariant.MIN_GREEN
    ]
    amber = vehicles.amber_s[g] - 1
    assert feed(vehicles, {0: {g: GREEN}, 10: {g: AMBER}, 10 + amber: {g: RED}}, 20) == [
        Invariant.AMBER
    ]
    ped = min(walks.crosswalk_groups)
    assert walks.min_green_s[ped] > 3
    assert feed(walks, {0: {ped: GREEN}, 3: {ped: RED}}, 5) == [Invariant.PED_WALK]
    ok = {0: {g: GREEN}, 10: {g: AMBER}, 10 + vehicles.amber_s[g]: {g: RED}}
    assert feed(vehicles, ok, 30) == []


def test_a_clearance_cut_short(vehicles: SafetyLimits, walks: SafetyLimits) -> None:
    a, b, need = pair(vehicles, crosswalk=False)
    end = 10 + vehicles.amber_s[a]
    cut = {0: {a: GREEN}, 10: {a: AMBER}, end: {a: RED}, 10 + need - 1: {b: GREEN}}
    assert feed(vehicles, cut, 20) == [Invariant.CLEARANCE]
    served = {0: {a: GREEN}, 10: {a: AMBER}, end: {a: RED}, 10 + need: {b: GREEN}}
    assert feed(vehicles, served, 20) == []
    a, b, need = pair(walks, crosswalk=True)
    cut = {0: {a: GREEN}, 10: {a: RED}, 10 + need - 1: {b: GREEN}}
    assert feed(walks, cut, 20) == [Invariant.PED_CLEARANCE]


def test_a_red_too_long_and_what_is_not_judged(vehicles: SafetyLimits) -> None:
    g = vehicles.groups[0]
    red = vehicles.max_red_s[g]
    long_red = {0: {g: GREEN}, 10: {g: AMBER}, 13: {g: RED}, 10 + red + 1: {g: GREEN}}
    assert feed(vehicles, long_red, 10 + red + 2) == [Invariant.MAX_RED]
    # A green already on at the first reading: its length is not known, not judged; nor a red
    # whose green was never seen.
    monitor = SafetyMonitor(vehicles)
    monitor.observe_states(T0, {g: GREEN})
    monitor.observe_states(T0 + NS, {g: AMBER})
    assert monitor.violations == []
    monitor = SafetyMonitor(vehicles)
    monitor.observe_states(T0, {g: RED})
    monitor.observe_states(T0 + round((red + 10) * NS), {g: RED})
    assert monitor.violations == []
    # UNAVAILABLE forgets what was seen: the green after it is not judged either.
    monitor = SafetyMonitor(vehicles)
    for t, state in [(0, RED), (1, GREEN), (2, S.UNAVAILABLE), (3, GREEN), (4, AMBER)]:
        monitor.observe_states(T0 + t * NS, {g: state})
    assert monitor.violations == []
