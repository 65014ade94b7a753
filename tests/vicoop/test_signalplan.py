"""The signal plan types refuse malformed plans with the field named."""

from __future__ import annotations

import pytest

from vicoop.signalplan import (
    PhasePlan,
    PhaseRequest,
    RequestKind,
    SignalCommand,
    SignalPlanError,
    StageSplit,
)

S = 1_000_000_000


def test_a_plan_gives_its_splits() -> None:
    plan = PhasePlan(90.0, 12.0, (StageSplit(0, 40.0), StageSplit(2, 30.0)))
    assert plan.split_of(0) == 40.0
    assert plan.split_of(2) == 30.0
    assert plan.split_of(1) is None


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: PhasePlan(0.0, 0.0, (StageSplit(0, 10.0),)), "cycle_s"),
        (lambda: PhasePlan(400.0, 0.0, (StageSplit(0, 10.0),)), "cycle_s"),
        (lambda: PhasePlan(60.0, 60.0, (StageSplit(0, 10.0),)), "offset_s"),
        (lambda: PhasePlan(60.0, 0.0, ()), "splits"),
        (lambda: PhasePlan(60.0, 0.0, (StageSplit(0, 10.0), StageSplit(0, 5.0))), "splits"),
        (lambda: PhasePlan(60.0, 0.0, (StageSplit(0, 40.0), StageSplit(2, 20.0))), "splits"),
        (lambda: StageSplit(-1, 10.0), "stage"),
        (lambda: StageSplit(0, float("nan")), "green_s"),
        (lambda: PhaseRequest(RequestKind.HOLD, (0, 2)), "stages"),
        (lambda: PhaseRequest(RequestKind.SKIP, ()), "stages"),
        (lambda: PhaseRequest(RequestKind.SKIP, (1, 1)), "stages"),
        (
            lambda: SignalCommand("i1", "p", 5 * S, 5 * S, PhaseRequest(RequestKind.HOLD, (0,))),
            "end_ns",
        ),
        (
            lambda: SignalCommand("", "p", 0, S, PhaseRequest(RequestKind.HOLD, (0,))),
            "intersection_id",
        ),
    ],
)
def test_a_malformed_plan_names_the_field(make: object, field: str) -> None:
    with pytest.raises(SignalPlanError, match=f"^{field}:"):
        make()  # type: ignore[operator]


def test_a_command_is_active_in_its_window() -> None:
    cmd = SignalCommand("i1", "fixed/1", 10 * S, 20 * S, PhaseRequest(RequestKind.SKIP, (2, 4)))
    assert not cmd.active(10 * S - 1)
    assert cmd.active(10 * S)
    assert not cmd.active(20 * S)
