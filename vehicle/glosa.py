"""Green-light optimal speed advisory (GLOSA): a speed that reaches the stop line on green.

Pure: the SPaT of the vehicle's signal group, its distance to the stop line and its speed go in,
an ``Advice`` (or None) comes out; time is passed in (ns since the Unix epoch, the RSU's clock,
as the SPaT's times are).

A signal group's SPaT is its ``MovementEvent``s in time order (J2735 ``state-time-speed``): the
current state first, then the ones predicted to follow. Event ``k`` ends between its
``min_end_ns`` and ``max_end_ns``, and event ``k + 1`` starts when event ``k`` ends. So a green
is *guaranteed* from the previous event's ``max_end_ns`` (now, for the current one) to its own
``min_end_ns``: arriving inside that window, minus a margin each side, is arriving on green
whatever the controller decides within the bounds it announced. With ``likely=True`` the
advisory may also use the ``likely_end_ns`` window when no guaranteed one can be reached, and
says so (``Advice.guaranteed`` false).

The vehicle changes speed at a constant rate (``accel_mps2`` up, ``decel_mps2`` down) to the
advised speed, then holds it. Of the speeds in ``[min_mps, max_mps]`` the highest that arrives in
the earliest reachable window is advised; None when no speed in that range does (the vehicle
will have to stop, or the SPaT says too little).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vicoop.model import NS_PER_S
from vicoop.spat import MovementEvent, MovementPhaseState

# Bisection steps on the speed: 2^-40 of the range, far below a speedometer's resolution.
_STEPS = 40


@dataclass(frozen=True, slots=True)
class Advice:
    """Drive at ``speed_mps`` to reach the stop line at ``arrival_ns``, inside the green window
    ``[window_start_ns, window_end_ns]``; ``guaranteed`` false when the window is the likely
    one rather than the one the controller's bounds promise."""

    speed_mps: float
    arrival_ns: int
    window_start_ns: int
    window_end_ns: int
    guaranteed: bool


@dataclass(frozen=True, slots=True)
class Vehicle:
    """The vehicle's kinematic limits for the advisory (m/s, m/s^2)."""

    min_mps: float = 5.0
    max_mps: float = 13.9
    accel_mps2: float = 1.5
    decel_mps2: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 < self.min_mps <= self.max_mps:
            raise ValueError(f"GLOSA needs 0 < min_mps <= max_mps, got {self}")
        if self.accel_mps2 <= 0.0 or self.decel_mps2 <= 0.0:
            raise ValueError(f"GLOSA needs positive accel_mps2 and decel_mps2, got {self}")


def arrival_s(distance_m: float, speed_mps: float, target_mps: float, vehicle: Vehicle) -> float:
    """Seconds to cover ``distance_m`` from ``speed_mps``, changing speed to ``target_mps`` (> 0)
    at the vehicle's rate and then holding it. Non-increasing in ``target_mps``."""
    rate = vehicle.accel_mps2 if target_mps >= speed_mps else vehicle.decel_mps2
    change_s = abs(target_mps - speed_mps) / rate
    change_m = (speed_mps + target_mps) / 2.0 * change_s
    if change_m <= distance_m:
        return change_s + (distance_m - change_m) / target_mps
    # The stop line comes before the target speed: constant acceleration (or braking) all the way.
    if target_mps >= speed_mps:
        return (math.sqrt(speed_mps**2 + 2.0 * rate * distance_m) - speed_mps) / rate
    return (speed_mps - math.sqrt(speed_mps**2 - 2.0 * rate * distance_m)) / rate


def _fastest_within(
    distance_m: float, speed_mps: float, vehicle: Vehicle, earliest_s: float, latest_s: float
) -> float | None:
    """The highest speed in the vehicle's range whose arrival is in ``[earliest_s, latest_s]``."""

    def arrive(v: float) -> float:
        return arrival_s(distance_m, speed_mps, v, vehicle)

    lo, hi = vehicle.min_mps, vehicle.max_mps
    if arrive(hi) > latest_s or arrive(lo) < earliest_s:
        return None  # even the fastest speed comes too late, or even the slowest too early
    if arrive(hi) >= earliest_s:
        return hi
    # arrive(lo) >= earliest_s > arrive(hi): the fastest speed not arriving before the window.
    for _ in range(_STEPS):
        mid = (lo + hi) / 2.0
        if arrive(mid) >= earliest_s:
            lo = mid
        else:
            hi = mid
    return lo if arrive(lo) <= latest_s else None


def _green_windows(
    events: Sequence[MovementEvent], now_ns: int, likely: bool
) -> list[tuple[int, int, bool]]:
    """The group's green windows ``(start, end, guaranteed)`` in time order."""
    windows: list[tuple[int, int, bool]] = []
    start_max: int | None = now_ns  # the latest the current event could have started (now)
    start_likely: int | None = now_ns
    for event in events:
        if event.state.may_proceed:
            if start_max is not None and event.min_end_ns is not None:
                windows.append((max(start_max, now_ns), event.min_end_ns, True))
            if likely and start_likely is not None and event.likely_end_ns is not None:
                windows.append((max(start_likely, now_ns), event.likely_end_ns, False))
        start_max, start_likely = event.max_end_ns, event.likely_end_ns
        if event.state in (MovementPhaseState.UNAVAILABLE, MovementPhaseState.DARK):
            break  # nothing after an unknown state can be relied on
    windows.sort(key=lambda w: (w[0], not w[2]))
    return windows


def advise(
    events: Sequence[MovementEvent],
    distance_m: float,
    speed_mps: float,
    now_ns: int,
    vehicle: Vehicle | None = None,
    *,
    margin_s: float = 1.0,
    likely: bool = False,
    queue_s: float = 0.0,
) -> Advice | None:
    """The advisory for a vehicle ``distance_m`` before its stop line at ``speed_mps``, whose
    signal group's SPaT is ``events`` (current first, time order); None when no speed in the
    vehicle's range arrives on green. ``margin_s`` keeps the arrival that far inside a window;
    ``queue_s`` (s, >= 0) is how long after a green starts (or after now, on a green) the
    vehicles queued ahead need to clear the stop line: the arrival is not planned before."""
    vehicle = vehicle or Vehicle()
    if distance_m <= 0.0 or speed_mps < 0.0 or not math.isfinite(distance_m + speed_mps):
        raise ValueError(
            f"GLOSA needs a distance > 0 and a speed >= 0, got {distance_m} m, {speed_mps} m/s"
        )
    if queue_s < 0.0 or not math.isfinite(queue_s):
        raise ValueError(f"GLOSA needs a queue clearing time >= 0 s, got {queue_s}")
    margin_ns = round(margin_s * NS_PER_S)
    queue_ns = round(queue_s * NS_PER_S)
    for start_ns, end_ns, guaranteed in _green_windows(events, now_ns, likely):
        earliest_ns = (start_ns + margin_ns if start_ns > now_ns else start_ns) + queue_ns
        latest_ns = end_ns - margin_ns
        if latest_ns <= max(earliest_ns, now_ns):
            continue
        speed = _fastest_within(
            distance_m,
            speed_mps,
            vehicle,
            (earliest_ns - now_ns) / NS_PER_S,
            (latest_ns - now_ns) / NS_PER_S,
        )
        if speed is not None:
            arrival_ns = now_ns + round(arrival_s(distance_m, speed_mps, speed, vehicle) * NS_PER_S)
            return Advice(speed, arrival_ns, start_ns, end_ns, guaranteed)
    return None
