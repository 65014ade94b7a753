"""A signal program: SUMO letters read with J2735 semantics, a program that cannot run refused
naming the field, phases that look the same merged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadside.spat import Phase, ProgramError, SignalProgram, states_from_letters
from vicoop.spat import ControlMode, MovementPhaseState

S = MovementPhaseState
NS = 1_000_000_000


def test_letters_as_j2735_states() -> None:
    rows = states_from_letters(["Gguy", "yyrs", "rroO"])
    assert rows[0] == (
        S.PROTECTED_MOVEMENT_ALLOWED,
        S.PERMISSIVE_MOVEMENT_ALLOWED,
        S.PRE_MOVEMENT,
        S.PERMISSIVE_CLEARANCE,  # no green before it in the cycle
    )
    # An amber is the clearance of the green before it, going back round the cycle.
    assert rows[1][:2] == (S.PROTECTED_CLEARANCE, S.PERMISSIVE_CLEARANCE)
    assert rows[1][2:] == (S.STOP_AND_REMAIN, S.STOP_THEN_PROCEED)
    assert rows[2][2:] == (S.CAUTION_CONFLICTING_TRAFFIC, S.DARK)
    wrapped = states_from_letters(["yr", "rr", "Gr"])  # the G is before the y, round the cycle
    assert wrapped[0][0] is S.PROTECTED_CLEARANCE


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        ([], r"^phases: a program needs at least one phase$"),
        (["Gr", "G"], r"^phases\[1\]\.state: 1 letters, phase 0 has 2$"),
        (["Gr", "rX"], r"^phases\[1\]\.state\[1\]: unknown letter 'X'"),
    ],
)
def test_bad_letters_are_refused_naming_the_field(phases: list[str], message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        states_from_letters(phases)


RED = (S.STOP_AND_REMAIN,)


@pytest.mark.parametrize(
    ("groups", "phases", "message"),
    [
        ((), (Phase(RED, NS, NS, NS),), r"^groups: a program needs at least one signal group$"),
        ((1, 1), (Phase(RED * 2, NS, NS, NS),), r"^groups: a group appears twice in \[1, 1\]$"),
        ((256,), (Phase(RED, NS, NS, NS),), r"^groups\[0\]: signal group must be 1\.\.255"),
        ((0,), (Phase(RED, NS, NS, NS),), r"^groups\[0\]: signal group must be 1\.\.255"),
        ((1,), (), r"^phases: a program needs at least one phase$"),
        ((1, 2), (Phase(RED, NS, NS, NS),), r"^phases\[0\]\.state: 1 states for 2 groups$"),
        ((1,), (Phase(RED, NS, 2 * NS, 3 * NS),), r"^phases\[0\]: needs 0 < min <= duration"),
        ((1,), (Phase(RED, 3 * NS, NS, 2 * NS),), r"^phases\[0\]: needs 0 < min <= duration"),
        ((1,), (Phase(RED, 0, 0, 0),), r"^phases\[0\]: needs 0 < min"),
    ],
)
def test_a_program_that_cannot_run_is_refused(
    groups: tuple[int, ...], phases: tuple[Phase, ...], message: str
) -> None:
    with pytest.raises(ProgramError, match=message):
        SignalProgram(groups, phases)


def test_from_letters_in_seconds() -> None:
    p = SignalProgram.from_letters(
        [3, 7],
        [("Gr", 30.0, 10.0, 50.0), ("yr", 3.0, None, None), ("rG", 20.5, 40.0, 1.0)],
        ControlMode.ACTUATED,
        offset_s=2.5,
    )
    assert p.groups == (3, 7) and p.index(7) == 1 and p.mode is ControlMode.ACTUATED
    assert p.offset_ns == 2_500_000_000 and p.cycle_ns == 53_500_000_000
    bounds = [(q.min_ns, q.duration_ns, q.max_ns) for q in p.phases]
    assert bounds[0] == (10 * NS, 30 * NS, 50 * NS)
    assert bounds[1] == (3 * NS, 3 * NS, 3 * NS)  # no bounds: the duration
    assert bounds[2] == (20_500_000_000,) * 3  # bounds that exclude the duration: clamped to it
    with pytest.raises(ValueError):
        p.index(4)


def test_merged_adds_up_phases_that_look_the_same_round_the_cycle() -> None:
    p = SignalProgram.from_letters(
        [1, 2],
        [
            ("Gr", 10.0, 5.0, 20.0),
            ("Gr", 4.0, None, None),
            ("yr", 3.0, None, None),
            ("rG", 20.0, None, None),
            ("Gr", 2.0, 1.0, 3.0),
        ],
    ).merged()
    assert [(q.duration_ns // NS, q.min_ns // NS, q.max_ns // NS) for q in p.phases] == [
        (16, 10, 27),
        (3, 3, 3),
        (20, 20, 20),
    ]
    assert p.phases[0].states == (S.PROTECTED_MOVEMENT_ALLOWED, S.STOP_AND_REMAIN)


@given(
    st.lists(st.tuples(st.sampled_from(["Gr", "yr", "rG", "ry"]), st.integers(1, 60)), min_size=1)
)
def test_merging_keeps_the_cycle_and_leaves_no_two_alike_in_a_row(
    rows: list[tuple[str, int]],
) -> None:
    p = SignalProgram.from_letters([1, 2], [(s, float(d), None, None) for s, d in rows])
    m = p.merged()
    assert m.cycle_ns == p.cycle_ns
    assert sum(q.min_ns for q in m.phases) == sum(q.min_ns for q in p.phases)
    assert m.merged() == m
    n = len(m.phases)
    assert n == 1 or all(m.phases[k].states != m.phases[k - 1].states for k in range(n))
