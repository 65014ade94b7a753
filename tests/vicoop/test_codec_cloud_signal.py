"""Signal commands on the cloud -> RSU command path: round trips, and malformed ones refused
with the field named."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protos.vicoop.v1 import cloud_pb2
from vicoop import codec_cloud as cc
from vicoop.cloudmodel import Command, Event, EventKind, OutboxMessage
from vicoop.errors import CodecError
from vicoop.signalplan import (
    PhasePlan,
    PhaseRequest,
    RequestKind,
    SignalCommand,
    SignalPlanError,
    StageSplit,
)

T0 = 1_764_000_000 * 1_000_000_000


@st.composite
def signal_commands(draw: st.DrawFn) -> SignalCommand:
    stages = draw(st.lists(st.integers(0, cc.MAX_STAGE_INDEX), min_size=1, max_size=8, unique=True))
    if draw(st.booleans()):
        cycle = draw(st.floats(30.0, 300.0))
        greens = [draw(st.floats(0.5, cycle / (2 * len(stages)))) for _ in stages]
        action: PhasePlan | PhaseRequest = PhasePlan(
            cycle,
            draw(st.floats(0.0, cycle, exclude_max=True)),
            tuple(StageSplit(s, g) for s, g in zip(stages, greens, strict=True)),
        )
    else:
        kind = draw(st.sampled_from(list(RequestKind)))
        action = PhaseRequest(kind, tuple(stages) if kind is RequestKind.SKIP else (stages[0],))
    start = draw(st.integers(0, 2**62))
    return SignalCommand(
        draw(st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True)),
        draw(st.from_regex(r"[a-z]{1,8}/[0-9]{1,10}", fullmatch=True)),
        start,
        start + draw(st.integers(1, 10**12)),
        action,
    )


@settings(max_examples=200)
@given(signal_commands(), st.integers(1, cc.MAX_VERSION))
def test_a_signal_command_round_trips(command: SignalCommand, version: int) -> None:
    original = Command("cmd-1", version, T0, command)
    assert cc.decode_command(cc.encode_command(original)) == original


def test_a_refusal_event_round_trips() -> None:
    event = Event(EventKind.SIGNAL_COMMAND_REFUSED, T0, detail="B1 p/1: hold_too_long: x")
    message = OutboxMessage("rsu-1", 7, T0, event)
    assert cc.decode_outbox(cc.encode_outbox(message)) == message


def _command(**fields: object) -> bytes:
    sc = cloud_pb2.SignalCommand(
        intersection_id="B1", plan_id="p/1", start_ns=T0, end_ns=T0 + 10**10
    )
    plan = fields.pop("plan", None)
    request = fields.pop("request", None)
    for key, value in fields.items():
        setattr(sc, key, value)
    if plan is not None:
        sc.plan.CopyFrom(plan)
    if request is not None:
        sc.request.CopyFrom(request)
    pb = cloud_pb2.Command(command_id="cmd-1", version=3, issued_at_ns=T0, signal_command=sc)
    return pb.SerializeToString()


def plan(cycle: float, offset: float, *splits: tuple[int, float]) -> cloud_pb2.PhasePlan:
    return cloud_pb2.PhasePlan(
        cycle_s=cycle,
        offset_s=offset,
        splits=[cloud_pb2.StageSplit(stage=s, green_s=g) for s, g in splits],
    )


HOLD = cloud_pb2.PHASE_REQUEST_KIND_HOLD


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_command(), "command.signal_command.action is missing"),
        (_command(intersection_id="", plan=plan(60, 0, (0, 20))), "intersection_id is missing"),
        (_command(plan_id="a b", plan=plan(60, 0, (0, 20))), "command.signal_command.plan_id"),
        (_command(end_ns=T0, plan=plan(60, 0, (0, 20))), "end_ns"),
        (_command(plan=plan(60, 0, (0, 0.0))), "green_s"),
        (
            _command(plan=plan(60, 0, (0, float("nan")))),
            "splits[0].green_s must be a finite number",
        ),
        (_command(plan=plan(0, 0, (0, 20))), "plan.cycle_s"),
        (_command(plan=plan(60, 60, (0, 20))), "plan.offset_s"),
        (_command(plan=plan(60, 0, (0, 30), (2, 30))), "plan.splits: greens add up"),
        (_command(plan=plan(60, 0, (0, 20), (0, 20))), "plan.splits: a stage appears twice"),
        (_command(plan=plan(60, 0, (5000, 20))), "splits.stage[0] must be in 0..1023"),
        (_command(plan=plan(60, 0)), "plan.splits: a plan needs at least one"),
        (_command(request=cloud_pb2.PhaseRequest(stages=[1])), "request.kind is missing"),
        (_command(request=cloud_pb2.PhaseRequest(kind=9, stages=[1])), "unknown RequestKind"),
        (_command(request=cloud_pb2.PhaseRequest(kind=HOLD, stages=[1, 2])), "exactly one"),
        (_command(request=cloud_pb2.PhaseRequest(kind=HOLD)), "request.stages"),
        (
            _command(request=cloud_pb2.PhaseRequest(kind=HOLD, stages=list(range(65)))),
            "at most 64 stages",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_malformed_signal_command_is_refused_naming_the_field(
    payload: bytes, message: str
) -> None:
    with pytest.raises(CodecError) as caught:
        cc.decode_command(payload)
    assert message in str(caught.value)
    assert not isinstance(caught.value, SignalPlanError)
    assert cc.command_id_of(payload) == "cmd-1"  # so the RSU can say which one it refused
