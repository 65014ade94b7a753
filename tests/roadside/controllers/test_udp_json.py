"""The JSON-over-UDP feed as a controller adapter: real datagrams to its real socket."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadside.controllers import UdpJsonControllerConfig, build_adapter
from roadside.controllers.udp_json import UdpJsonAdapter, colour_state
from roadside.ingest.signal import encode
from tests.conftest import until
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState
from vicoop.spat import ControlMode, MovementPhaseState

S = 1_000_000_000
T0 = 1_700_000_000 * S
P = MovementPhaseState
C = SignalColour


class Clock:
    def __init__(self) -> None:
        self.ns = T0

    def __call__(self) -> int:
        return self.ns


def config(**kw: object) -> UdpJsonControllerConfig:
    return UdpJsonControllerConfig.model_validate(
        {
            "kind": "udp_json",
            "intersection_id": "x-udp",
            "groups": [
                {"group_id": "north", "signal_group": 1},
                {"group_id": "east", "signal_group": 2, "green": "permissive"},
            ],
            **kw,
        }
    )


def datagram(seq: int, t_ns: int, north: C, east: C, extra: bool = False) -> bytes:
    groups = [
        SignalGroupState("north", "north", north, t_ns + 5 * S),
        SignalGroupState("east", "east", east, t_ns + 5 * S),
    ]
    if extra:
        groups.append(SignalGroupState("ped-1", "north", C.RED, 0))
    return encode(SignalState("", "x-udp", t_ns, tuple(groups)), seq)


@pytest.fixture
async def adapter() -> AsyncIterator[tuple[UdpJsonAdapter, Clock]]:
    clock = Clock()
    a = build_adapter(config(), clock)
    assert isinstance(a, UdpJsonAdapter)
    await a.start()
    yield a, clock
    await a.stop()


async def test_datagrams_become_readings_of_mapped_signal_groups(
    adapter: tuple[UdpJsonAdapter, Clock],
) -> None:
    a, clock = adapter
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(datagram(1, T0, C.GREEN, C.RED, extra=True), ("127.0.0.1", a.port))
        await until(lambda: a.stats.accepted == 1, "the first datagram")
        s.sendto(datagram(2, T0 + S, C.AMBER, C.RED), ("127.0.0.1", a.port))
        s.sendto(b'{"v": 1, "intersection_id": "x-udp", "seq": "3"}', ("127.0.0.1", a.port))
        s.sendto(json.dumps({"v": 1}).encode(), ("127.0.0.1", a.port))
        await until(lambda: a.stats.accepted == 2 and a.stats.rejected_total >= 3, "the rest")
    reading = await a.read()
    assert reading.intersection_id == "x-udp" and reading.mode is ControlMode.UNKNOWN
    g = {x.signal_group: x for x in reading.groups}
    assert g[1].state is P.PROTECTED_CLEARANCE and g[1].since_ns == T0 + S
    assert g[2].state is P.STOP_AND_REMAIN and g[2].since_ns is None  # red since before
    # next_change_ns is a hint the controller does not vouch for
    assert all(x.min_end_ns is None and x.max_end_ns is None for x in reading.groups)
    assert a.stats.rejected["unmapped_group"] == 1
    assert a.stats.rejected["bad_field"] == 1 and a.stats.rejected["unknown_intersection"] == 1
    clock.ns += 4 * S  # 3 s stale_after_s: unknown, never the last colour
    assert {x.state for x in (await a.read()).groups} == {P.UNAVAILABLE}


def test_an_exact_next_change_is_the_groups_end_and_a_missing_group_is_unavailable() -> None:
    a = UdpJsonAdapter(config(next_change_is_exact=True), Clock())
    only_north = encode(
        SignalState("", "x-udp", T0, (SignalGroupState("north", "north", C.GREEN, T0 + 7 * S),)),
        1,
    )
    reading = a.feed(only_north, T0)
    assert reading is not None
    g = {x.signal_group: x for x in reading.groups}
    assert g[1].min_end_ns == g[1].max_end_ns == T0 + 7 * S
    assert g[2].state is P.UNAVAILABLE
    assert a.feed(only_north, T0) is None and a.stats.rejected["duplicate"] == 1


@given(st.sampled_from(list(C)), st.sampled_from(["protected", "permissive"]))
def test_every_colour_has_its_j2735_state(colour: C, green: str) -> None:
    state = colour_state(colour, green)
    expected = {
        C.RED: P.STOP_AND_REMAIN,
        C.RED_AMBER: P.PRE_MOVEMENT,
        C.DARK: P.DARK,
        C.UNSPECIFIED: P.UNAVAILABLE,
    }
    if colour in expected:
        assert state is expected[colour]
    elif colour is C.GREEN:
        assert state.may_proceed and state.name.startswith(green.upper())
    else:
        assert state.name == f"{green.upper()}_CLEARANCE"


@given(st.binary(max_size=300))
def test_any_bytes_are_a_reading_or_a_counted_rejection(data: bytes) -> None:
    a = UdpJsonAdapter(config(), Clock())
    reading = a.feed(data, T0)
    assert (reading is None) == (a.stats.rejected_total == 1)
