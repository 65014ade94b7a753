"""GLOSA: the advised speed reaches the stop line inside a green the SPaT promises."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vehicle.glosa import Vehicle, advise, arrival_s
from vicoop.model import NS_PER_S
from vicoop.spat import MovementEvent, MovementPhaseState

GREEN = MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED
RED = MovementPhaseState.STOP_AND_REMAIN
AMBER = MovementPhaseState.PROTECTED_CLEARANCE
NOW = 1_700_000_000 * NS_PER_S
CAR = Vehicle(min_mps=5.0, max_mps=14.0, accel_mps2=1.5, decel_mps2=2.0)


def at(s: float) -> int:
    return NOW + round(s * NS_PER_S)


def event(
    state: MovementPhaseState, min_s: float, max_s: float, likely_s: float | None = None
) -> MovementEvent:
    likely = at(likely_s) if likely_s is not None else None
    return MovementEvent(0, state, at(min_s), at(max_s), likely, 0.9)


def test_on_a_green_that_lasts_the_vehicle_keeps_the_limit() -> None:
    advice = advise([event(GREEN, 30, 40)], distance_m=200, speed_mps=14, now_ns=NOW, vehicle=CAR)
    assert advice is not None and advice.guaranteed
    assert advice.speed_mps == 14.0
    assert advice.arrival_ns == at(200 / 14)


def test_a_red_ending_between_10_and_20_s_is_met_after_its_latest_end() -> None:
    events = [event(RED, 10, 20), event(GREEN, 45, 60)]
    advice = advise(events, distance_m=200, speed_mps=14, now_ns=NOW, vehicle=CAR)
    assert advice is not None and advice.guaranteed
    # The fastest speed that arrives at least 1 s after the red's latest end (20 s).
    assert advice.arrival_ns == pytest.approx(at(21), abs=NS_PER_S // 1000)
    assert 5.0 <= advice.speed_mps < 14.0
    assert advice.window_start_ns == at(20) and advice.window_end_ns == at(45)


def test_no_advice_when_the_green_cannot_be_reached_in_the_speed_range() -> None:
    # Green ends in 5 s, the stop line is 200 m away: even 14 m/s takes 14 s; the next green
    # is not announced.
    assert advise([event(GREEN, 5, 5)], 200, 14, NOW, CAR) is None
    # A red that ends after 100 s: even 5 m/s arrives (40 s) before it.
    assert advise([event(RED, 100, 120), event(GREEN, 150, 160)], 200, 14, NOW, CAR) is None


def test_a_green_ending_before_its_margin_is_skipped_for_the_next_one() -> None:
    events = [event(GREEN, 3, 3), event(AMBER, 6, 6), event(RED, 30, 40), event(GREEN, 70, 80)]
    advice = advise(events, distance_m=300, speed_mps=10, now_ns=NOW, vehicle=CAR)
    assert advice is not None
    assert advice.window_start_ns == at(40)
    assert advice.arrival_ns >= at(41)


def test_likely_windows_only_when_asked_and_marked_as_such() -> None:
    # The red may last until 60 s but will likely end at 15 s: no guaranteed window is reachable
    # (5 m/s over 200 m takes 40 s), a likely one is.
    events = [event(RED, 10, 60, likely_s=15), event(GREEN, 61, 90, likely_s=45)]
    assert advise(events, 200, 14, NOW, CAR) is None
    advice = advise(events, 200, 14, NOW, CAR, likely=True)
    assert advice is not None and not advice.guaranteed
    assert at(16) <= advice.arrival_ns <= at(44)


def test_an_unknown_state_ends_what_can_be_relied_on() -> None:
    unknown = MovementEvent(0, MovementPhaseState.UNAVAILABLE, None, None, None, 0.0)
    assert advise([unknown, event(GREEN, 30, 40)], 200, 14, NOW, CAR) is None
    # A green whose end nobody knows promises nothing.
    open_green = MovementEvent(0, GREEN, None, None, None, 0.0)
    assert advise([event(RED, 5, 10), open_green], 200, 14, NOW, CAR) is None


def test_bad_inputs_say_what_was_wrong() -> None:
    with pytest.raises(ValueError, match="distance > 0"):
        advise([event(GREEN, 30, 40)], -1, 10, NOW, CAR)
    with pytest.raises(ValueError, match="min_mps <= max_mps"):
        Vehicle(min_mps=10, max_mps=5)


@given(
    distance=st.floats(1.0, 1000.0),
    speed=st.floats(0.0, 20.0),
    target=st.floats(0.5, 20.0),
    faster=st.floats(0.0, 5.0),
)
def test_arrival_time_never_grows_with_the_target_speed(
    distance: float, speed: float, target: float, faster: float
) -> None:
    slow = arrival_s(distance, speed, target, CAR)
    fast = arrival_s(distance, speed, target + faster, CAR)
    assert math.isfinite(slow) and slow > 0
    assert fast <= slow + 1e-9


@given(
    distance=st.floats(5.0, 500.0),
    speed=st.floats(0.0, 16.0),
    red_min=st.floats(0.0, 60.0),
    red_spread=st.floats(0.0, 30.0),
    green_s=st.floats(0.0, 60.0),
)
def test_advice_is_in_range_and_arrives_inside_its_window(
    distance: float, speed: float, red_min: float, red_spread: float, green_s: float
) -> None:
    red_max = red_min + red_spread
    events = [event(RED, red_min, red_max), event(GREEN, red_max + green_s, red_max + green_s)]
    advice = advise(events, distance, speed, NOW, CAR)
    if advice is None:
        return
    assert CAR.min_mps <= advice.speed_mps <= CAR.max_mps
    arrival = at(arrival_s(distance, speed, advice.speed_mps, CAR))
    tolerance = NS_PER_S // 1000
    # A window opening later is met a margin after it opens; one open now, at any time.
    opens = advice.window_start_ns + NS_PER_S if advice.window_start_ns > NOW else NOW
    assert opens - tolerance <= arrival
    assert arrival <= advice.window_end_ns - NS_PER_S + tolerance


def test_a_queue_ahead_pushes_the_arrival_past_its_clearing() -> None:
    events = [event(RED, 10, 10), event(GREEN, 40, 40)]
    free = advise(events, 150, 14, NOW, CAR)
    queued = advise(events, 150, 14, NOW, CAR, queue_s=8.0)
    assert free is not None and queued is not None
    assert free.arrival_ns >= at(11) and queued.arrival_ns >= at(19)
    assert queued.speed_mps < free.speed_mps
    # A queue that needs longer than the green: no speed gets through it.
    assert advise(events, 150, 14, NOW, CAR, queue_s=30.0) is None
    with pytest.raises(ValueError, match="queue"):
        advise(events, 150, 14, NOW, CAR, queue_s=-1.0)
