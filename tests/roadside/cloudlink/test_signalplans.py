"""Signal commands at the RSU: versioned, acknowledged, idempotent, through the supervisor; a
refusal is REJECTED with its reason and becomes one event."""

from __future__ import annotations

import pytest

from roadside.cloudlink.signalplans import SignalPlanBook
from roadside.supervisor import SafetySupervisor
from tests.roadside.supervisor.programs import BUNDLED, NS, T0, junctions_of
from vicoop.cloudmodel import AckStatus, Command, EventKind, UpsertZone
from vicoop.signalplan import PhasePlan, PhaseRequest, RequestKind, SignalCommand, StageSplit
from vicoop.zones import Zone, ZoneRules


def book() -> tuple[SignalPlanBook, SafetySupervisor]:
    the_map, program = junctions_of(BUNDLED)[0]
    sup = SafetySupervisor(the_map, program)
    return SignalPlanBook([sup]), sup


def signal(version: int, action: PhasePlan | PhaseRequest, iid: str = "B1") -> Command:
    body = SignalCommand(iid, f"adaptive/{version}", T0, T0 + 600 * NS, action)
    return Command(f"c{version}-{iid}", version, T0, body)


FORCE_OFF = PhaseRequest(RequestKind.FORCE_OFF, (0,))


def test_applied_once_then_already_applied_and_heard() -> None:
    plans, sup = book()
    ack, event = plans.apply(signal(3, FORCE_OFF), T0)
    assert ack.status is AckStatus.APPLIED and ack.version == 3 and event is None
    assert plans.versions == {"B1": 3} and sup.stats.accepted == 1
    for version in (3, 2):  # the same again, or an older one: nothing changes, but heard
        ack, event = plans.apply(signal(version, FORCE_OFF), T0 + 50 * NS)
        assert ack.status is AckStatus.ALREADY_APPLIED and event is None
    assert sup.stats.accepted == 1 and sup.heard_ns == T0 + 50 * NS
    plan = PhasePlan(90.0, 0.0, (StageSplit(0, 40.0), StageSplit(2, 40.0)))
    ack, _ = plans.apply(signal(4, plan), T0 + 60 * NS)
    assert ack.status is AckStatus.APPLIED and plans.versions == {"B1": 4}


def test_a_refused_command_is_rejected_with_its_reason_and_one_event() -> None:
    plans, _ = book()
    short = PhasePlan(60.0, 0.0, (StageSplit(0, 2.0),))
    ack, event = plans.apply(signal(5, short), T0)
    assert ack.status is AckStatus.REJECTED
    assert ack.detail == "refused: split_below_min_green: stage 0: split 2 s < minimum green 5 s"
    assert event is not None and event.kind is EventKind.SIGNAL_COMMAND_REFUSED
    assert (
        event.detail
        == "B1 adaptive/5: split_below_min_green: stage 0: split 2 s < minimum green 5 s"
    )
    again, event = plans.apply(signal(5, short), T0 + NS)  # resent: rejected again, no new event
    assert again.status is AckStatus.REJECTED and event is None
    assert plans.refused == {"split_below_min_green": 2} and plans.versions == {}
    # A corrected plan at the same version is taken: a refused version is not held.
    ack, _ = plans.apply(signal(5, FORCE_OFF), T0 + 2 * NS)
    assert ack.status is AckStatus.APPLIED


def test_an_intersection_without_a_supervisor_is_refused() -> None:
    plans, _ = book()
    ack, event = plans.apply(signal(1, FORCE_OFF, iid="elsewhere"), T0)
    assert ack.status is AckStatus.REJECTED
    assert ack.detail == "refused: unknown_intersection: no supervised controller for 'elsewhere'"
    assert event is not None and plans.refused == {"unknown_intersection": 1}


def test_the_link_state_reaches_every_supervisor() -> None:
    plans, sup = book()
    plans.apply(signal(1, FORCE_OFF), T0)
    assert sup.active(T0 + NS) is not None
    plans.link(False, T0 + NS)
    assert sup.active(T0 + 2 * NS) is None
    plans.link(True, T0 + 3 * NS)
    assert sup.active(T0 + 4 * NS) is not None


def test_a_zone_command_is_not_a_signal_command() -> None:
    plans, _ = book()
    zone = Zone("z", 1, "z", ((0.0, 0.0), (0.0, 1e-3), (1e-3, 0.0)), ZoneRules())
    with pytest.raises(TypeError):
        plans.apply(Command("c", 1, T0, UpsertZone(zone)), T0)
