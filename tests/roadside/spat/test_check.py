"""The SPaT check: a change outside the window predicted for it is a defect, counted and kept,
never hidden; a change inside is not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from roadside.spat import Defect, SpatChecker
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
T0 = 1_764_000_000 * NS
RED, GREEN = S.STOP_AND_REMAIN, S.PROTECTED_MOVEMENT_ALLOWED


def reading(t: int, state: MovementPhaseState, since: int | None = None) -> ControllerReading:
    return ControllerReading(
        "junction-1", t, ControlMode.FIXED_TIME, (GroupReading(1, state, since),)
    )


def spat(
    t: int, state: MovementPhaseState, lo: int | None, hi: int | None, likely: int | None
) -> Spat:
    events = (
        MovementEvent(1, state, lo, hi, likely, 1.0),
        MovementEvent(1, GREEN, None, None, None),  # a later event: not judged now
    )
    return Spat("junction-1", t, 0, ControlMode.FIXED_TIME, events)


def run(window: tuple[int | None, int | None, int | None], change_at: int) -> SpatChecker:
    """Red from T0, predicted at T0 + 1 s with ``window``, green at ``change_at`` (reported
    with its since)."""
    checker = SpatChecker()
    checker.observe(reading(T0, RED))
    checker.record(spat(T0 + NS, RED, *window))
    checker.observe(reading(change_at + NS // 2, GREEN, since=change_at))
    return checker


def test_a_change_inside_its_window_is_no_defect() -> None:
    r = run((T0 + 9 * NS, T0 + 11 * NS, T0 + 10 * NS), T0 + 10_500_000_000).report()
    assert (r.changes, r.changes_outside, r.predictions, r.predictions_outside) == (1, 0, 1, 0)
    assert r.defects == () and r.untimed == 0
    assert r.likely_error_p50_s == r.likely_error_max_s == 0.5


def test_a_change_before_or_after_its_window_is_a_defect_kept_with_what_happened() -> None:
    for change in (T0 + 8 * NS, T0 + 12 * NS):
        r = run((T0 + 9 * NS, T0 + 11 * NS, T0 + 10 * NS), change).report()
        assert (r.changes, r.changes_outside, r.predictions, r.predictions_outside) == (1, 1, 1, 1)
        assert r.defects == (Defect(1, RED, T0 + NS, T0 + 9 * NS, T0 + 11 * NS, change),)
        assert r.likely_error_max_s == 2.0


def test_a_prediction_without_times_is_untimed_not_a_defect() -> None:
    r = run((None, None, None), T0 + 10 * NS).report()
    assert (r.changes, r.predictions, r.untimed, r.predictions_outside) == (1, 1, 1, 0)
    assert r.likely_error_p50_s is None


def test_the_change_is_the_reading_when_the_controller_gives_no_since() -> None:
    checker = SpatChecker()
    checker.observe(reading(T0, RED))
    checker.record(spat(T0 + NS, RED, T0 + 9 * NS, T0 + 10 * NS, T0 + 10 * NS))
    checker.observe(reading(T0 + 10 * NS + 1, GREEN))  # seen 1 ns late: outside
    assert checker.report().defects[0].changed_at_ns == T0 + 10 * NS + 1


def test_only_predictions_for_the_state_shown_are_judged_and_only_once() -> None:
    checker = SpatChecker()
    checker.record(spat(T0, RED, T0, T0, T0))  # nothing observed yet: not judged
    checker.observe(reading(T0, RED))
    checker.record(spat(T0, GREEN, T0, T0, T0))  # a state the controller does not show
    checker.record(spat(T0 + NS, RED, T0, T0 + NS, None))  # judged, outside
    checker.observe(reading(T0 + 5 * NS, GREEN, since=T0 + 5 * NS))
    checker.observe(reading(T0 + 6 * NS, RED, since=T0 + 6 * NS))  # nothing pending for green
    r = checker.report()
    assert (r.changes, r.predictions, r.predictions_outside, r.changes_outside) == (2, 1, 1, 1)


def test_kept_defects_are_capped_but_all_are_counted() -> None:
    checker = SpatChecker(keep_defects=2)
    checker.observe(reading(T0, RED))
    for k in range(5):
        checker.record(spat(T0 + k, RED, T0, T0 + NS, T0))
    checker.observe(reading(T0 + 3 * NS, GREEN, since=T0 + 3 * NS))
    r = checker.report()
    assert r.predictions_outside == 5 and r.changes_outside == 1 and len(r.defects) == 2


@given(
    lo=st.integers(0, 100),
    width=st.integers(0, 100),
    change=st.integers(0, 300),
)
def test_a_change_is_a_defect_iff_it_is_outside_the_window(
    lo: int, width: int, change: int
) -> None:
    r = run((T0 + lo * NS // 10, T0 + (lo + width) * NS // 10, None), T0 + change * NS // 10)
    outside = not lo <= change <= lo + width
    assert r.report().predictions_outside == int(outside)
    assert len(r.report().defects) == int(outside)
