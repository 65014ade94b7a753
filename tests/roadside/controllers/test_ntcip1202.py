"""The NTCIP 1202 adapter against a real SNMP agent on a loopback port (``snmp_agent``), whose
simulated controller's time the test moves; the adapter's clock is the test's too."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.type import univ
from pysnmp.proto import rfc1902

from roadside.controllers import Ntcip1202ControllerConfig, build_adapter
from roadside.controllers.base import ControllerError
from roadside.controllers.config import NtcipPhaseMap
from roadside.controllers.ntcip1202 import (
    PHASE_CONTROL_ENTRY,
    PHASE_ENTRY,
    STATUS_ENTRY,
    UNIT_CONTROL_STATUS,
    UNIT_FLASH_STATUS,
    Ntcip1202Adapter,
    PhaseControl,
    StatusGroup,
    indication,
    integer_values,
    movement_state,
    phase_control_values,
)
from tests.conftest import until
from tests.roadside.controllers.snmp_agent import SimulatedController, SnmpAgent
from vicoop.spat import ControlMode, MovementPhaseState

S = 1_000_000_000
T0 = 1_700_000_000 * S
P = MovementPhaseState
GREENS = (*STATUS_ENTRY, 4, 1)
REDS = (*STATUS_ENTRY, 2, 1)


class Clock:
    """The RSU's clock, moved by the test."""

    def __init__(self) -> None:
        self.ns = T0

    def __call__(self) -> int:
        return self.ns


@pytest.fixture
async def agent() -> AsyncIterator[SnmpAgent]:
    a = SnmpAgent(SimulatedController())
    await a.start()
    yield a
    await a.stop()


@pytest.fixture
async def adapter(agent: SnmpAgent) -> AsyncIterator[tuple[Ntcip1202Adapter, Clock]]:
    clock = Clock()
    config = Ntcip1202ControllerConfig(
        kind="ntcip1202",
        intersection_id="x-ntcip",
        port=agent.port,
        timeout_s=0.3,
        stale_after_s=2.0,
        phases=(
            NtcipPhaseMap(phase=2, signal_group=2),
            NtcipPhaseMap(phase=4, signal_group=4, green="permissive"),
        ),
    )
    a = build_adapter(config, clock)
    assert isinstance(a, Ntcip1202Adapter)
    yield a, clock
    await a.stop()


def at(agent: SnmpAgent, clock: Clock, t_s: float) -> None:
    """Both the controller and the RSU clock at ``t_s`` into the run."""
    agent.controller.now_s = t_s
    clock.ns = T0 + round(t_s * S)


def states(reading: object) -> dict[int, P]:
    return {g.signal_group: g.state for g in reading.groups}  # type: ignore[attr-defined]


async def test_readings_follow_the_controllers_phases_and_timing(
    agent: SnmpAgent, adapter: tuple[Ntcip1202Adapter, Clock]
) -> None:
    a, clock = adapter
    at(agent, clock, 1.0)
    first = await a.poll()
    assert first is not None and first.mode is ControlMode.ACTUATED
    assert states(first) == {2: P.PROTECTED_MOVEMENT_ALLOWED, 4: P.STOP_AND_REMAIN}
    assert all(g.since_ns is None for g in first.groups)  # seen from the first poll on

    program = await a.program()
    timing = {g.signal_group: g for g in program.groups}
    assert timing[2].min_green_s == 10.0 and timing[2].max_green_s == 10.0
    assert timing[2].yellow_change_s == pytest.approx(3.0)
    assert timing[2].red_clearance_s == pytest.approx(2.0)
    assert timing[4].min_green_s == 8.0

    at(agent, clock, 9.9)
    assert await a.poll() is not None
    at(agent, clock, 10.1)  # phase 2 turned yellow between the polls
    yellow = await a.poll()
    assert yellow is not None
    g2 = {g.signal_group: g for g in yellow.groups}[2]
    assert g2.state is P.PROTECTED_CLEARANCE
    assert g2.since_ns == T0 + round(10.1 * S)
    # yellow lasts 3.0 s from a start in (9.9, 10.1]: it ends in [12.9, 13.1]
    assert g2.min_end_ns == T0 + round(12.9 * S) and g2.max_end_ns == T0 + round(13.1 * S)
    assert g2.min_end_ns <= T0 + 13 * S <= g2.max_end_ns  # the controller's real change

    at(agent, clock, 14.9)
    assert await a.poll() is not None
    at(agent, clock, 15.05)
    green4 = await a.poll()
    assert green4 is not None
    g4 = {g.signal_group: g for g in green4.groups}[4]
    assert g4.state is P.PERMISSIVE_MOVEMENT_ALLOWED
    # no sooner than min green 8 s after a start in (14.9, 15.05]; its end is up to detectors
    assert g4.min_end_ns == T0 + round(22.9 * S) and g4.max_end_ns is None
    assert states(await a.read()) == states(green4)
    assert a.stats.rejected_total == 0


async def test_a_silent_controller_turns_every_group_unavailable_within_stale_after(
    agent: SnmpAgent, adapter: tuple[Ntcip1202Adapter, Clock]
) -> None:
    a, clock = adapter
    at(agent, clock, 1.0)
    assert await a.poll() is not None
    agent.silent = True
    at(agent, clock, 2.5)
    assert await a.poll() is None
    assert a.stats.rejected["timeout"] == 1
    # 1.5 s since the last valid reply: still the last state
    assert states(await a.read())[2] is P.PROTECTED_MOVEMENT_ALLOWED
    at(agent, clock, 3.1)
    assert await a.poll() is None
    stale = await a.read()
    assert stale.mode is ControlMode.UNKNOWN
    assert states(stale) == {2: P.UNAVAILABLE, 4: P.UNAVAILABLE}
    assert all(g.min_end_ns is None and g.max_end_ns is None for g in stale.groups)
    agent.silent = False
    at(agent, clock, 4.0)
    assert await a.poll() is not None
    assert states(await a.read())[2] is P.PROTECTED_MOVEMENT_ALLOWED


async def test_the_poll_loop_runs_at_its_rate_and_survives_a_silent_controller(
    agent: SnmpAgent, adapter: tuple[Ntcip1202Adapter, Clock]
) -> None:
    a, clock = adapter
    at(agent, clock, 16.0)
    await a.start()
    await until(lambda: a.stats.accepted >= 3, "three polls answered")
    assert states(await a.read()) == {2: P.STOP_AND_REMAIN, 4: P.PERMISSIVE_MOVEMENT_ALLOWED}
    agent.silent = True
    await until(lambda: a.stats.rejected["timeout"] >= 2, "two polls timed out")
    clock.ns += 3 * S
    assert set(states(await a.read()).values()) == {P.UNAVAILABLE}
    agent.silent = False
    accepted = a.stats.accepted
    await until(lambda: a.stats.accepted > accepted, "the controller answering again")
    assert states(await a.read())[4] is P.PERMISSIVE_MOVEMENT_ALLOWED


@pytest.mark.parametrize(
    ("oid", "value", "reason", "says"),
    [
        (GREENS, rfc1902.OctetString(b"\x02"), "wrong_type", "phaseStatusGroupGreens.1 is Oct"),
        (GREENS, rfc1902.Gauge32(2), "wrong_type", "not INTEGER"),
        (GREENS, rfc1902.Integer32(256), "out_of_range", "phaseStatusGroupGreens.1 = 256"),
        (UNIT_FLASH_STATUS, rfc1902.Integer32(0), "out_of_range", "unitFlashStatus.0 = 0"),
        (REDS, rfc1902.Integer32(0b11), "contradicting_bits", "phase 2 is both red and green"),
        (GREENS, univ.Null(""), "wrong_type", "Null"),
    ],
)
async def test_a_malformed_reply_is_rejected_with_its_reason_and_counted(
    agent: SnmpAgent,
    adapter: tuple[Ntcip1202Adapter, Clock],
    caplog: pytest.LogCaptureFixture,
    oid: tuple[int, ...],
    value: object,
    reason: str,
    says: str,
) -> None:
    a, clock = adapter
    at(agent, clock, 1.0)
    good = await a.poll()
    assert good is not None
    agent.controller.overrides[oid] = value
    at(agent, clock, 1.5)
    with caplog.at_level(logging.WARNING):
        assert await a.poll() is None
    assert a.stats.rejected[reason] == 1, a.stats.rejected
    assert says in a.stats.last_error
    assert says in caplog.text
    assert await a.read() == good  # the rejected reply changed nothing
    agent.controller.overrides.clear()
    at(agent, clock, 2.0)
    assert await a.poll() is not None  # and the adapter keeps going


async def test_an_snmp_error_and_a_bad_timing_table_are_counted(
    agent: SnmpAgent, adapter: tuple[Ntcip1202Adapter, Clock]
) -> None:
    a, clock = adapter
    agent.controller.overrides[(*PHASE_ENTRY, 8, 2)] = rfc1902.Integer32(10)  # yellow 1.0 s
    at(agent, clock, 1.0)
    assert await a.poll() is not None  # the status is still read
    assert a.stats.rejected["out_of_range"] == 1
    assert "phaseYellowChange.2 = 10 not in 30..255" in a.stats.last_error
    assert {g.yellow_change_s for g in (await a.program()).groups} == {None}
    agent.error_status = 5
    assert await a.poll() is None
    assert a.stats.rejected["snmp_error"] == 1 and "genErr" in a.stats.last_error


async def test_flash_and_manual_control_are_the_readings_mode(
    agent: SnmpAgent, adapter: tuple[Ntcip1202Adapter, Clock]
) -> None:
    a, clock = adapter
    at(agent, clock, 20.0)  # both phases' bits: 2 red, 4 green
    agent.controller.control_status = 5
    reading = await a.poll()
    assert reading is not None and reading.mode is ControlMode.MANUAL
    agent.controller.control_status = 2
    reading = await a.poll()
    assert reading is not None and reading.mode is ControlMode.COORDINATED
    at(agent, clock, 14.0)  # both red
    agent.controller.flash_status = 6  # mmu: conflict monitor flash
    reading = await a.poll()
    assert reading is not None and reading.mode is ControlMode.FAILURE_FLASH
    assert states(reading) == {2: P.STOP_THEN_PROCEED, 4: P.STOP_THEN_PROCEED}
    at(agent, clock, 20.0)  # a green while flashing contradicts the flash
    assert await a.poll() is None
    assert a.stats.rejected["contradicting_bits"] == 1


masks = st.integers(0, 255)


@given(masks, masks, masks, st.integers(1, 8), st.sampled_from(["protected", "permissive"]))
def test_status_group_decoding_over_every_mask(
    reds: int, yellows: int, greens: int, phase: int, green: str
) -> None:
    group = StatusGroup(1, reds, yellows, greens)
    bit = 1 << (phase - 1)
    on = [m & bit != 0 for m in (reds, yellows, greens)]
    if sum(on) > 1:
        with pytest.raises(ControllerError) as err:
            indication(group, phase, "vehicle")
        assert err.value.reason == "contradicting_bits"
        return
    state = movement_state(indication(group, phase, "vehicle"), green, flashing=False)
    if on[0]:
        assert state is P.STOP_AND_REMAIN
    elif on[1]:
        assert state.name.endswith("CLEARANCE") and state.name.startswith(green.upper())
    elif on[2]:
        assert state.may_proceed and state.name.startswith(green.upper())
    else:
        assert state is P.UNAVAILABLE  # no bit: the controller says nothing, no colour made up


@given(
    st.lists(
        st.one_of(
            st.integers(-(2**31), 2**31 - 1).map(rfc1902.Integer32),
            st.integers(0, 2**32 - 1).map(rfc1902.Gauge32),
            st.binary(max_size=4).map(rfc1902.OctetString),
            st.just(univ.Null("")),
        ),
        min_size=8,
        max_size=8,
    )
)
def test_any_reply_values_decode_or_are_rejected_with_a_reason(values: list[object]) -> None:
    asked = [(*STATUS_ENTRY, c, 1) for c in range(2, 8)] + [UNIT_CONTROL_STATUS, UNIT_FLASH_STATUS]
    ranges = {o: (0, 255) for o in asked} | {UNIT_CONTROL_STATUS: (1, 8), UNIT_FLASH_STATUS: (1, 8)}
    binds = [(univ.ObjectIdentifier(o), v) for o, v in zip(asked, values, strict=True)]
    try:
        got = integer_values(asked, binds, ranges)
    except ControllerError as exc:
        assert exc.reason in {"wrong_type", "out_of_range"}
        assert exc.detail
        return
    assert all(ranges[o][0] <= v <= ranges[o][1] for o, v in got.items())


def test_a_reply_for_other_objects_is_rejected() -> None:
    asked = [UNIT_CONTROL_STATUS]
    binds = [(univ.ObjectIdentifier(UNIT_FLASH_STATUS), rfc1902.Integer32(2))]
    with pytest.raises(ControllerError) as err:
        integer_values(asked, binds, {UNIT_CONTROL_STATUS: (1, 8)})
    assert err.value.reason == "wrong_oid"
    assert "asked unitControlStatus.0, got unitFlashStatus.0" in str(err.value)


async def test_the_write_side_sets_the_phase_control_groups(
    agent: SnmpAgent, adapter: tuple[Ntcip1202Adapter, Clock]
) -> None:
    """Hold, force-off and omit reach the controller as one SET of its phase control groups
    (bit masks, bits of other phases cleared), which it reflects on GET; a SET it refuses is
    counted by reason and changes nothing."""
    a, _ = adapter
    hold = PhaseControl(hold=frozenset({2}), omit=frozenset({4}))
    assert await a.set_phase_control(hold)
    assert agent.controller.control == {(2, 1): 0b1000, (4, 1): 0b10, (5, 1): 0}
    assert a.control == hold
    values = await a._get(
        [(*PHASE_CONTROL_ENTRY, c, 1) for c in (2, 4, 5)],
        {(*PHASE_CONTROL_ENTRY, c, 1): (0, 255) for c in (2, 4, 5)},
    )
    assert list(values.values()) == [0b1000, 0b10, 0]
    assert await a.set_phase_control(PhaseControl(force_off=frozenset({2})))
    assert agent.controller.control == {(2, 1): 0, (4, 1): 0, (5, 1): 0b10}
    # Phase 10 lives in group 2: both groups are written.
    assert await a.set_phase_control(PhaseControl(hold=frozenset({10})))
    assert agent.controller.sets[-1] == {
        (2, 1): 0,
        (4, 1): 0,
        (5, 1): 0,
        (2, 2): 0,
        (4, 2): 0b10,
        (5, 2): 0,
    }
    agent.error_status = 5  # genErr
    assert not await a.set_phase_control(PhaseControl())
    assert a.stats.rejected["snmp_error"] == 1 and "SET genErr" in a.stats.last_error
    assert agent.controller.control[(4, 2)] == 0b10  # unchanged
    agent.error_status = 0
    agent.silent = True
    assert not await a.set_phase_control(PhaseControl())
    assert a.stats.rejected["timeout"] == 1
    assert not await a.set_phase_control(PhaseControl(hold=frozenset({300})))
    assert a.stats.rejected["bad_control"] == 1


def test_phase_control_values_cover_every_group_of_the_phases() -> None:
    values = phase_control_values(
        PhaseControl(hold=frozenset({1}), force_off=frozenset({8, 9}), omit=frozenset({16})),
        [2, 4],
    )
    assert values == {
        (*PHASE_CONTROL_ENTRY, 2, 1): 0,
        (*PHASE_CONTROL_ENTRY, 4, 1): 0b1,
        (*PHASE_CONTROL_ENTRY, 5, 1): 0b1000_0000,
        (*PHASE_CONTROL_ENTRY, 2, 2): 0b1000_0000,
        (*PHASE_CONTROL_ENTRY, 4, 2): 0,
        (*PHASE_CONTROL_ENTRY, 5, 2): 0b1,
    }
    with pytest.raises(ValueError, match="phase 0"):
        phase_control_values(PhaseControl(omit=frozenset({0})), [2])
