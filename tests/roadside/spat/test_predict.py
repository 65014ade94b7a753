"""The SPaT predictor against a controller that runs its program: a fixed-time program's
``likely_end`` is the switching time, and every window holds the change that happens
(``min_end <= change <= max_end``); an actuated program's window comes from its min/max."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from roadside.spat import SpatChecker, SpatPredictor
from roadside.spat.program import SignalProgram
from vicoop.spat import (
    ControllerReading,
    ControlMode,
    GroupReading,
    MovementEvent,
    MovementPhaseState,
    Spat,
)

S = MovementPhaseState
NS = 1_000_000_000
T0 = 1_764_000_000 * NS  # the controller's clock when the run begins


@dataclass
class Controller:
    """A controller that runs ``program`` from ``T0`` (phase 0 begins then), each phase
    lasting ``durations_ns[k]`` (the program's duration if not given), cycle after cycle."""

    program: SignalProgram
    durations_ns: list[int] = field(default_factory=list)
    cycles: int = 6
    starts: list[int] = field(default_factory=list)  # every phase's start, in time order
    phases: list[int] = field(default_factory=list)  # which phase starts there

    def __post_init__(self) -> None:
        n = len(self.program.phases)
        durations = self.durations_ns or [p.duration_ns for p in self.program.phases] * self.cycles
        t = T0
        for k, d in enumerate(durations):
            self.starts.append(t)
            self.phases.append(k % n)
            t += d
        self.starts.append(t)
        self.phases.append(len(durations) % n)

    @property
    def end_ns(self) -> int:
        return self.starts[-1]

    def at(self, t: int) -> int:
        """The position in ``starts`` of the phase running at ``t``."""
        return bisect.bisect_right(self.starts, t) - 1

    def state(self, group: int, k: int) -> MovementPhaseState:
        return self.program.phases[self.phases[k]].states[self.program.index(group)]

    def since(self, group: int, t: int) -> int | None:
        """When ``group`` entered the state it shows at ``t`` (None: before the run)."""
        k = self.at(t)
        s = self.state(group, k)
        while k > 0 and self.state(group, k - 1) == s:
            k -= 1
        return self.starts[k] if k > 0 else None

    def changes(self, group: int, t: int) -> list[int]:
        """The times after ``t`` at which ``group``'s state changes."""
        k = self.at(t)
        return [
            self.starts[j]
            for j in range(k + 1, len(self.starts) - 1)
            if self.state(group, j) != self.state(group, j - 1)
        ]

    def read(self, t: int, with_since: bool = True) -> ControllerReading:
        k = self.at(t)
        groups = tuple(
            GroupReading(g, self.state(g, k), self.since(g, t) if with_since else None)
            for g in self.program.groups
        )
        return ControllerReading("junction-1", t, self.program.mode, groups)


def current(spat: Spat, group: int) -> list[MovementEvent]:
    return [e for e in spat.movements if e.signal_group == group]


TWO_WAY = SignalProgram.from_letters(
    [1, 2, 3],
    [
        ("Grr", 30.0, 10.0, 50.0),
        ("yrr", 3.0, None, None),
        ("rGG", 25.0, 5.0, 40.0),
        ("ryG", 3.0, None, None),
        ("rrG", 4.0, 2.0, 6.0),
        ("rry", 3.0, None, None),
        ("rrr", 2.0, None, None),
    ],
)


def test_a_fixed_time_program_predicted_to_the_switch() -> None:
    run = Controller(TWO_WAY)
    predictor = SpatPredictor("junction-1", TWO_WAY)
    at = T0 + 40 * NS  # in phase 2 (rGG), begun at 33 s
    spat = predictor.predict(run.read(at), at)
    assert spat.intersection_id == "junction-1" and spat.valid_at_ns == at
    assert spat.mode is ControlMode.FIXED_TIME
    e1, e1_next = current(spat, 1)
    assert e1.state is S.STOP_AND_REMAIN  # red until the next cycle's green at 90 s
    assert e1.min_end_ns == e1.max_end_ns == e1.likely_end_ns == T0 + 70 * NS
    assert e1.confidence == 1.0
    assert e1_next.state is S.PROTECTED_MOVEMENT_ALLOWED
    assert e1_next.likely_end_ns == T0 + 100 * NS
    e2, _ = current(spat, 2)
    assert (e2.state, e2.likely_end_ns) == (S.PROTECTED_MOVEMENT_ALLOWED, T0 + 58 * NS)
    e3, e3_next = current(spat, 3)
    assert (e3.state, e3.likely_end_ns) == (S.PROTECTED_MOVEMENT_ALLOWED, T0 + 65 * NS)
    assert (e3_next.state, e3_next.likely_end_ns) == (S.PROTECTED_CLEARANCE, T0 + 68 * NS)
    assert predictor.stats.readings == 1 and predictor.stats.unmatched == 0


def test_an_actuated_window_is_the_programs_min_and_max() -> None:
    program = SignalProgram(TWO_WAY.groups, TWO_WAY.phases, ControlMode.ACTUATED)
    predictor = SpatPredictor("junction-1", program)
    run = Controller(program)
    at = T0 + 40 * NS  # phase 2 (rGG, 5..40 s) begun at 33 s
    e2, _ = current(predictor.predict(run.read(at), at), 2)
    assert e2.state is S.PROTECTED_MOVEMENT_ALLOWED
    assert e2.min_end_ns == at  # its minimum (38 s) is over: it may end now
    assert e2.max_end_ns == T0 + (33 + 40) * NS
    assert e2.likely_end_ns == T0 + (33 + 25) * NS  # nominal: no demand known
    assert e2.confidence < 1.0
    # Group 3 stays green through phases 2..4: its bounds add up the phases' min and max.
    e3, _ = current(predictor.predict(run.read(at), at), 3)
    assert e3.min_end_ns == at + (3 + 2) * NS
    assert e3.max_end_ns == T0 + (33 + 40 + 3 + 6) * NS
    # Group 1's red lasts through every other phase, each at its min and its max.
    e1, _ = current(predictor.predict(run.read(at), at), 1)
    assert e1.min_end_ns == at + (3 + 2 + 3 + 2) * NS
    assert e1.max_end_ns == T0 + (33 + 40 + 3 + 6 + 3 + 2) * NS


def test_states_that_are_no_phase_and_untimed_modes_give_no_times() -> None:
    predictor = SpatPredictor("junction-1", TWO_WAY)
    wrong = ControllerReading(
        "junction-1", T0, ControlMode.FIXED_TIME, tuple(GroupReading(g, S.DARK) for g in (1, 2, 3))
    )
    flash = ControllerReading(
        "junction-1", T0, ControlMode.FAILURE_FLASH, Controller(TWO_WAY).read(T0).groups
    )
    for reading in (wrong, flash):
        spat = predictor.predict(reading, T0)
        assert len(spat.movements) == 3
        assert all(e.min_end_ns is e.max_end_ns is e.likely_end_ns is None for e in spat.movements)
    assert (predictor.stats.unmatched, predictor.stats.untimed_mode) == (1, 1)


# ---- properties over programs and query times ----

LETTERS = "Ggr"


@st.composite
def programs(draw: st.DrawFn, mode: ControlMode, unique: bool = False) -> SignalProgram:
    """A program of 2..6 phases over 1..4 groups (no two consecutive phases alike, or none
    alike if ``unique``; every group changes), durations and bounds in tenths of a second."""
    width = draw(st.integers(1, 4))
    n = draw(st.integers(2, 6))
    rows = draw(
        st.lists(
            st.text(LETTERS, min_size=width, max_size=width),
            min_size=n,
            max_size=n,
            unique=unique,
        )
    )
    assume(all(rows[k] != rows[k - 1] for k in range(n)))
    assume(all(len({row[i] for row in rows}) > 1 for i in range(width)))
    phases = []
    for row in rows:
        duration = draw(st.integers(20, 600)) / 10
        lo = draw(st.integers(10, int(duration * 10))) / 10
        hi = draw(st.integers(int(duration * 10), 900)) / 10
        phases.append((row, duration, lo, hi))
    return SignalProgram.from_letters(list(range(1, width + 1)), phases, mode)


def check_events(run: Controller, spat: Spat, t: int, exact: bool) -> int:
    """Every group's events against the changes that happen; returns how many were timed."""
    timed = 0
    for g in run.program.groups:
        events = current(spat, g)
        changes = run.changes(g, t)
        assert events[0].state == run.state(g, run.at(t))
        for e, change in zip(events, changes, strict=False):
            if e.min_end_ns is None:
                continue
            assert e.max_end_ns is not None and e.likely_end_ns is not None
            assert e.min_end_ns <= change <= e.max_end_ns
            assert e.min_end_ns <= e.likely_end_ns <= e.max_end_ns
            if exact:
                assert e.min_end_ns == e.likely_end_ns == e.max_end_ns == change
            timed += 1
    return timed


@given(
    program=programs(ControlMode.FIXED_TIME, unique=True),
    queries=st.lists(st.floats(0, 1), max_size=12),
)
def test_fixed_time_with_known_starts_is_exact(
    program: SignalProgram, queries: list[float]
) -> None:
    """Phases that all look different and a controller that says since when: exact at any
    reading times, however far apart (a whole cycle may pass between two readings)."""
    run = Controller(program)
    horizon = run.end_ns - 2 * program.cycle_ns - T0  # leave two cycles to walk into
    predictor = SpatPredictor("junction-1", program)
    for t in sorted(T0 + program.cycle_ns + round(q * horizon) for q in queries):
        spat = predictor.predict(run.read(t), t)
        assert check_events(run, spat, t, exact=True) >= len(program.groups)
    assert predictor.stats.ambiguous == predictor.stats.unmatched == 0


@st.composite
def runs(draw: st.DrawFn, mode: ControlMode) -> tuple[Controller, list[int]]:
    """A run of ``mode`` (actuated: each phase lasting any time in its bounds) and reading
    times no further apart than the shortest phase, so no phase goes unseen."""
    program = draw(programs(mode))
    n = len(program.phases)
    if mode is ControlMode.FIXED_TIME:
        durations = [p.duration_ns for p in program.phases] * 5
    else:
        durations = [
            draw(st.integers(program.phases[k % n].min_ns, program.phases[k % n].max_ns))
            for k in range(5 * n)
        ]
    run = Controller(program, durations)
    shortest = min(durations)
    gaps = draw(st.lists(st.integers(1, shortest), min_size=1, max_size=40))
    times, t = [], T0 + draw(st.integers(0, durations[0] - 1))
    for gap in gaps:
        if t >= run.end_ns:
            break
        times.append(t)
        t += gap
    return run, times


@pytest.mark.parametrize("with_since", [True, False], ids=["since", "no-since"])
@given(run_times=runs(ControlMode.ACTUATED))
def test_an_actuated_run_stays_inside_every_window(
    with_since: bool, run_times: tuple[Controller, list[int]]
) -> None:
    run, times = run_times
    predictor = SpatPredictor("junction-1", run.program)
    for t in times:
        check_events(run, predictor.predict(run.read(t, with_since), t), t, exact=False)


@pytest.mark.parametrize("with_since", [True, False], ids=["since", "no-since"])
@given(run_times=runs(ControlMode.FIXED_TIME))
def test_a_fixed_time_run_judged_by_the_checker_has_no_defect(
    with_since: bool, run_times: tuple[Controller, list[int]]
) -> None:
    run, times = run_times
    predictor = SpatPredictor("junction-1", run.program)
    checker = SpatChecker()
    for t in times:
        reading = run.read(t, with_since)
        spat = predictor.predict(reading, t)
        check_events(run, spat, t, exact=False)
        # Judge against the switch that happened (the checker takes the reading's since_ns).
        exact = ControllerReading(
            reading.intersection_id,
            t,
            reading.mode,
            tuple(
                GroupReading(g.signal_group, g.state, run.since(g.signal_group, t))
                for g in reading.groups
            ),
        )
        checker.observe(exact)
        checker.record(spat)
    report = checker.report()
    assert report.predictions_outside == report.changes_outside == 0
    assert report.defects == ()


def test_demand_moves_an_actuated_greens_likely_end_inside_its_window() -> None:
    program = SignalProgram(TWO_WAY.groups, TWO_WAY.phases, ControlMode.ACTUATED)
    run = Controller(program)
    c2 = T0 + 70 * NS  # the second cycle begins
    at = c2 + 12 * NS  # in phase 0 (Grr, 10..50 s)
    ends = {}
    cases: list[tuple[str, dict[int, tuple[float, ...]]]] = [
        ("none seen", {}),
        ("steady", {1: tuple(float(t) for t in range(-2, 60, 2))}),
        ("gap after 2 s", {1: (-3.0, -1.0, 2.0, 8.0)}),
    ]
    for name, demand in cases:
        predictor = SpatPredictor("junction-1", program)
        e1, _ = current(predictor.predict(run.read(at), at, demand), 1)
        assert (e1.min_end_ns, e1.max_end_ns) == (at, c2 + 50 * NS)
        ends[name] = e1.likely_end_ns
    assert ends == {
        # The minimum is over and it is still on: held by a user gone out of sight (passed
        # the detection point at least 2 s ago), so it gaps out at the next whole second.
        "none seen": at + NS,
        "steady": c2 + 50 * NS,  # held to its maximum
        "gap after 2 s": at + 5 * NS,  # users 2 s apart hold it, then 6 s: 3 s after 2 s
    }


def test_the_controllers_own_bounds_narrow_the_window_when_they_agree() -> None:
    program = SignalProgram(TWO_WAY.groups, TWO_WAY.phases, ControlMode.ACTUATED)
    run = Controller(program)
    c2 = T0 + 70 * NS
    at = c2 + 12 * NS
    base = run.read(at)

    def with_bounds(lo: int, hi: int) -> ControllerReading:
        g1 = base.groups[0]
        own = GroupReading(g1.signal_group, g1.state, g1.since_ns, lo, hi)
        return ControllerReading(base.intersection_id, at, base.mode, (own, *base.groups[1:]))

    predictor = SpatPredictor("junction-1", program)
    e1, _ = current(predictor.predict(with_bounds(c2 + 20 * NS, c2 + 30 * NS), at), 1)
    assert (e1.min_end_ns, e1.max_end_ns, e1.likely_end_ns) == (
        c2 + 20 * NS,
        c2 + 30 * NS,
        c2 + 30 * NS,  # the nominal 30 s, inside
    )
    assert predictor.stats.controller_disagrees == 0
    # Bounds outside the program's window: counted, and the program's window kept.
    e1, _ = current(predictor.predict(with_bounds(c2 + 60 * NS, c2 + 70 * NS), at), 1)
    assert (e1.min_end_ns, e1.max_end_ns) == (at, c2 + 50 * NS)
    assert predictor.stats.controller_disagrees == 1


def test_a_reds_likely_end_follows_the_actuated_green_before_it() -> None:
    """Group 2 waits at red behind group 1's actuated green (10..50 s) and its 3 s amber: its
    red's likely end is group 1's likely gap-out (or max-out) plus the amber."""
    program = SignalProgram(TWO_WAY.groups, TWO_WAY.phases, ControlMode.ACTUATED)
    run = Controller(program)
    c2 = T0 + 70 * NS  # the second cycle begins: group 1 green since then
    at = c2 + 12 * NS
    cases: list[tuple[str, dict[int, tuple[float, ...]], int]] = [
        # Users 1 s and 3 s from now hold it to 15 s in; the first whole second with no
        # passage in the 3 s before it is 18 s: gap-out.
        ("gap-out", {1: (1.0, 3.0)}, c2 + 18 * NS),
        # A user every 2 s as far as the RSU sees: held to its maximum (max-out).
        ("max-out", {1: tuple(float(t) for t in range(-1, 60, 2))}, c2 + 50 * NS),
    ]
    for name, demand, green_end in cases:
        spat = SpatPredictor("junction-1", program).predict(run.read(at), at, demand)
        green, amber = current(spat, 1)
        red = current(spat, 2)[0]
        assert green.likely_end_ns == green_end, name
        assert amber.likely_end_ns == green_end + 3 * NS, name
        assert red.state is S.STOP_AND_REMAIN
        assert red.likely_end_ns == green_end + 3 * NS, name
        # The red's window: group 1 ending now or at its maximum, then the amber.
        assert (red.min_end_ns, red.max_end_ns) == (at + 3 * NS, c2 + 53 * NS), name
