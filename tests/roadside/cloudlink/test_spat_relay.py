"""What SPaT the RSU sends the twin, and when: at every change (at most ten a second) and every
second otherwise."""

from __future__ import annotations

from roadside.cloudlink.spat import SpatRelay
from vicoop.model import NS_PER_S
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

T0 = 1_700_000_000 * NS_PER_S
MS = NS_PER_S // 1000


def spat(state: MovementPhaseState, at_ns: int) -> dict[str, Spat]:
    return {
        "j1": Spat(
            "j1", at_ns, 1, ControlMode.FIXED_TIME, (MovementEvent(2, state, None, None, None),)
        )
    }


def test_spat_goes_to_the_twin_at_changes_and_every_second() -> None:
    green, amber = (
        MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED,
        MovementPhaseState.PROTECTED_CLEARANCE,
    )
    relay = SpatRelay()
    assert relay.due({}, T0) is None  # nothing to send yet
    assert relay.due(spat(green, T0), T0) is not None  # the first at once
    assert relay.due(spat(green, T0 + 100 * MS), T0 + 100 * MS) is None  # a repeat: not yet
    assert relay.due(spat(amber, T0 + 50 * MS), T0 + 50 * MS) is None  # a change, too soon
    assert relay.due(spat(amber, T0 + 100 * MS), T0 + 100 * MS) is not None  # the change
    assert relay.next_due_ns() == T0 + 1100 * MS
    assert relay.due(spat(amber, T0 + 900 * MS), T0 + 900 * MS) is None
    assert relay.due(spat(amber, T0 + 1100 * MS), T0 + 1100 * MS) is not None  # the refresh
    assert relay.sent == 3
