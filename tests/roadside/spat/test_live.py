"""The RSU's live SPaT: a controller's readings to the SPaT vehicles get, pure and through the
real daemon (UDP controller feed in, a vehicle's ``StreamSpat`` out)."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from roadside.config import RsuConfig
from roadside.controllers import ControllerProgram, GroupTiming, Stage
from roadside.daemon import RoadsideDaemon
from roadside.ingest.signal import encode
from roadside.spat.live import SpatSource, signal_program
from tests.conftest import until
from vehicle import ReconnectPolicy, RoadsideClient
from vicoop import config as config_io
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState
from vicoop.errors import ConfigError
from vicoop.spat import ControllerReading, ControlMode, GroupReading, MovementPhaseState

S = 1_000_000_000
T0 = 1_700_000_000 * S
P = MovementPhaseState
GREEN, AMBER, RED = P.PROTECTED_MOVEMENT_ALLOWED, P.PROTECTED_CLEARANCE, P.STOP_AND_REMAIN
SOUTH_RAD = -1.5707963267948966
FAST = ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, jitter=0.0)


def fixed_program() -> ControllerProgram:
    """Two groups taking turns: 20 s green, 3 s amber each (a fixed-time cycle of 46 s)."""
    return ControllerProgram(
        "j1",
        ControlMode.FIXED_TIME,
        (GroupTiming(1), GroupTiming(2)),
        (
            Stage(0, 20.0, 20.0, 20.0, ((1, GREEN), (2, RED))),
            Stage(1, 3.0, 3.0, 3.0, ((1, AMBER), (2, RED))),
            Stage(2, 20.0, 20.0, 20.0, ((1, RED), (2, GREEN))),
            Stage(3, 3.0, 3.0, 3.0, ((1, RED), (2, AMBER))),
        ),
        cycle_s=46.0,
    )


def reading(
    at_ns: int, one: P, two: P, since_ns: int | None = None, **ends: int
) -> ControllerReading:
    return ControllerReading(
        "j1",
        at_ns,
        ControlMode.FIXED_TIME if since_ns is not None else ControlMode.UNKNOWN,
        (
            GroupReading(1, one, since_ns, ends.get("lo"), ends.get("hi")),
            GroupReading(2, two, since_ns),
        ),
    )


def test_a_controller_without_stages_gives_no_program_to_predict_from() -> None:
    bare = ControllerProgram("j1", ControlMode.UNKNOWN, (GroupTiming(1), GroupTiming(2)))
    assert signal_program(bare) is None


def test_a_controllers_stages_become_the_predictors_program() -> None:
    program = signal_program(fixed_program())
    assert program is not None
    assert program.groups == (1, 2)
    assert [p.states for p in program.phases] == [
        (GREEN, RED),
        (AMBER, RED),
        (RED, GREEN),
        (RED, AMBER),
    ]
    assert program.cycle_ns == 46 * S


def test_fixed_time_spat_is_exact_once_the_phase_start_is_known() -> None:
    source = SpatSource("j1")
    source.use_program(signal_program(fixed_program()))
    spat = source.update(reading(T0 + 5 * S, GREEN, RED, since_ns=T0), T0 + 5 * S)
    assert spat is not None and spat.mode is ControlMode.FIXED_TIME
    one, one_next, two, two_next = spat.movements  # each group's state now and the next one
    assert (one.state, one.min_end_ns, one.max_end_ns, one.likely_end_ns) == (
        GREEN,
        T0 + 20 * S,
        T0 + 20 * S,
        T0 + 20 * S,
    )
    # Group 2 stays red through group 1's green and amber.
    assert (two.state, two.min_end_ns, two.max_end_ns) == (RED, T0 + 23 * S, T0 + 23 * S)
    assert (one_next.state, one_next.likely_end_ns) == (AMBER, T0 + 23 * S)
    assert (two_next.state, two_next.likely_end_ns) == (GREEN, T0 + 43 * S)


def test_a_longer_horizon_lists_a_whole_cycle_per_group() -> None:
    """``spat.events_per_group: 4``: green, amber, red and the next green (what a speed
    advisory needs to plan for the next green while this one is on)."""
    source = SpatSource("j1", events_per_group=4)
    source.use_program(signal_program(fixed_program()))
    spat = source.update(reading(T0 + 5 * S, GREEN, RED, since_ns=T0), T0 + 5 * S)
    assert spat is not None
    one = [(m.state, m.likely_end_ns) for m in spat.movements if m.signal_group == 1]
    assert one == [
        (GREEN, T0 + 20 * S),
        (AMBER, T0 + 23 * S),
        (RED, T0 + 46 * S),
        (GREEN, T0 + 66 * S),
    ]
    assert RsuConfig.model_validate({"spat": {"events_per_group": 4}}).spat.events_per_group == 4
    with pytest.raises(ValueError, match="events_per_group"):
        RsuConfig.model_validate({"spat": {"events_per_group": 0}})


def test_spat_goes_out_at_every_change_and_otherwise_at_the_refresh_rate() -> None:
    source = SpatSource("j1", refresh_ns=S // 10)
    t = T0
    assert source.update(reading(t, GREEN, RED), t) is not None  # the first one at once
    assert source.update(reading(t + S // 50, GREEN, RED), t + S // 50) is None  # nothing new
    changed = source.update(reading(t + S // 25, AMBER, RED), t + S // 25)
    assert changed is not None and changed.movements[0].state is AMBER
    assert source.update(reading(t + S // 20, AMBER, RED), t + S // 20) is None
    again = source.update(reading(t + S // 25 + S // 10, AMBER, RED), t + S // 25 + S // 10)
    assert again is not None and again.revision == changed.revision  # a repeat, not a change
    assert (source.sent, source.changes) == (3, 1)


def test_without_a_program_only_the_controllers_own_times_are_sent() -> None:
    source = SpatSource("j1")
    exact = source.update(reading(T0, GREEN, RED, lo=T0 + 7 * S, hi=T0 + 7 * S), T0)
    assert exact is not None
    one, two = exact.movements
    assert (one.min_end_ns, one.max_end_ns, one.likely_end_ns, one.confidence) == (
        T0 + 7 * S,
        T0 + 7 * S,
        T0 + 7 * S,
        1.0,
    )
    assert (two.min_end_ns, two.max_end_ns, two.likely_end_ns) == (None, None, None)  # not a guess
    window = source.update(reading(T0 + S, AMBER, RED, lo=T0 + 2 * S, hi=T0 + 4 * S), T0 + S)
    assert window is not None
    assert (window.movements[0].min_end_ns, window.movements[0].max_end_ns) == (
        T0 + 2 * S,
        T0 + 4 * S,
    )
    assert window.movements[0].likely_end_ns is None
    assert window.revision != exact.revision


def test_one_controller_per_intersection() -> None:
    feed = {
        "kind": "udp_json",
        "intersection_id": "j1",
        "groups": [{"group_id": "n", "signal_group": 1}],
    }
    with pytest.raises(ConfigError, match=r"spat.*one controller.*\['j1'\]"):
        config_io.validate(
            RsuConfig, {"spat": {"controllers": [feed, {**feed, "port": 0}]}}, "rsu.yaml"
        )


def _datagram(seq: int, colour: SignalColour, next_change_ns: int) -> bytes:
    groups = (
        SignalGroupState("north", "north", colour, next_change_ns),
        SignalGroupState("east", "east", SignalColour.RED, next_change_ns),
    )
    return encode(SignalState("", "junction-1", time.time_ns(), groups), seq)


async def test_a_vehicle_gets_the_controllers_spat_and_unknown_once_it_goes_silent() -> None:
    config = RsuConfig.model_validate(
        {
            "server": {"port": 0},
            "metrics": {"enabled": False},
            "spat": {
                "controllers": [
                    {
                        "kind": "udp_json",
                        "intersection_id": "junction-1",
                        "stale_after_s": 0.5,
                        "next_change_is_exact": True,
                        "groups": [
                            {"group_id": "north", "signal_group": 2},
                            {"group_id": "east", "signal_group": 4},
                        ],
                    }
                ]
            },
        }
    )
    async with (
        RoadsideDaemon(config) as daemon,
        RoadsideClient(daemon.target, reconnect=FAST) as rsu,
    ):
        assert daemon.spat is not None
        port = daemon.spat.adapters[0].port  # type: ignore[attr-defined]
        updates = aiter(rsu.spat(["junction-1"]))
        change_ns = time.time_ns() + 12 * S
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(_datagram(1, SignalColour.GREEN, change_ns), ("127.0.0.1", port))
        seen = []
        while True:  # until the controller's green arrives
            update = await asyncio.wait_for(anext(updates), 10)
            seen.append(update.sequence)
            spat = update.intersections.get("junction-1")
            if spat is not None and spat.movements[0].state is P.PROTECTED_MOVEMENT_ALLOWED:
                break
        north, east = spat.movements
        assert (north.signal_group, east.signal_group) == (2, 4)
        assert north.likely_end_ns == north.min_end_ns == north.max_end_ns == change_ns
        assert east.state is P.STOP_AND_REMAIN
        # Repeated with no new datagram (10 Hz), then UNAVAILABLE once the feed is silent.
        states: list[MovementPhaseState] = []
        while not states or states[-1] is not P.UNAVAILABLE:
            update = await asyncio.wait_for(anext(updates), 10)
            states.append(update.intersections["junction-1"].movements[0].state)
        assert states[0] is P.PROTECTED_MOVEMENT_ALLOWED  # at least one repeat before it
        assert set(states) == {P.PROTECTED_MOVEMENT_ALLOWED, P.UNAVAILABLE}  # never a guess
        last = update.intersections["junction-1"]
        assert all(m.likely_end_ns is None and m.min_end_ns is None for m in last.movements)
        await until(
            lambda: daemon.spat is not None and daemon.spat.sources["junction-1"].changes >= 1,
            "the change counted",
        )


def actuated_program() -> ControllerProgram:
    """Group 1 green for 5..40 s (nominal 20), amber 3 s; then group 2 the same."""
    return ControllerProgram(
        "junction-1",
        ControlMode.ACTUATED,
        (GroupTiming(2), GroupTiming(4)),
        (
            Stage(0, 20.0, 5.0, 40.0, ((2, GREEN), (4, RED))),
            Stage(1, 3.0, 3.0, 3.0, ((2, AMBER), (4, RED))),
            Stage(2, 20.0, 5.0, 40.0, ((2, RED), (4, GREEN))),
            Stage(3, 3.0, 3.0, 3.0, ((2, RED), (4, AMBER))),
        ),
    )


def test_the_road_users_the_rsu_tracks_hold_an_actuated_green() -> None:
    """Cars on the north arm (group 2's lane) keep arriving: the green's likely end follows
    them (SUMO's gap-out), inside the program's window; without them it is the nominal end."""
    from roadside.spat.live import LiveSpat
    from vehicle.testing import crossroads_map
    from vicoop.model import (
        DetectedObject,
        GeodeticOrigin,
        ObjectClass,
        PerceptionFrame,
        Size3,
        Vec3,
    )
    from vicoop.serving.spatfeed import SpatFeed

    m = crossroads_map(arm_m=200.0)  # lane 1 from the north ends at y = 10, group 2

    def car(track: int, y: float) -> DetectedObject:
        return DetectedObject(
            track, ObjectClass.CAR, 0.9, Vec3(-1.75, y), Vec3(0.0, -10.0), SOUTH_RAD,
            Size3(4.5, 1.8, 1.5), (0.1, 0, 0, 0.1, 0, 0.1), 0.99, T0,
        )  # fmt: skip

    # At 10 m/s; the detection point is 2 s at 13.89 m/s (27.8 m) before the stop line.
    cars = tuple(car(k, 10.0 + 27.8 + 20.0 * k) for k in range(1, 8))  # every 2 s from 2 s
    frame = PerceptionFrame("rsu", 1, T0, T0, GeodeticOrigin(50.9, 6.9, 0.0), cars)
    live = LiveSpat(
        [], SpatFeed("rsu", []), lambda: T0, maps={"junction-1": m}, frame=lambda: frame
    )
    demand = live.demand("junction-1", frame, T0)
    assert demand is not None
    assert demand[2] == pytest.approx([2.0 * k for k in range(1, 8)], abs=0.01)
    assert demand[4] == ()

    program = signal_program(actuated_program())
    reading = ControllerReading(
        "junction-1",
        T0,
        ControlMode.ACTUATED,
        (GroupReading(2, GREEN, T0), GroupReading(4, RED, T0)),
    )
    with_users, without = SpatSource("junction-1"), SpatSource("junction-1")
    with_users.use_program(program)
    without.use_program(program)
    held = with_users.update(reading, T0, demand)
    nominal = without.update(reading, T0)
    assert held is not None and nominal is not None
    green = held.movements[0]
    assert (green.min_end_ns, green.max_end_ns) == (T0 + 5 * S, T0 + 40 * S)
    # The last car just after 14 s (27.78 m before the stop line, not 27.8), then a 3 s gap:
    # the first whole second of green with no passage in the 3 s before it is 18 s.
    assert green.likely_end_ns == T0 + 18 * S
    assert nominal.movements[0].likely_end_ns == T0 + 20 * S


async def test_a_datagram_goes_out_at_once_not_at_the_next_poll() -> None:
    """The JSON feed pushes its states: ``LiveSpat.run`` publishes a datagram's change as soon
    as the adapter has it, though its own poll comes once in ten minutes here."""
    from roadside.controllers.config import UdpJsonControllerConfig, UdpJsonGroupMap
    from roadside.controllers.udp_json import UdpJsonAdapter
    from roadside.spat.live import LiveSpat
    from vicoop.serving.spatfeed import SpatFeed

    adapter = UdpJsonAdapter(
        UdpJsonControllerConfig(
            intersection_id="junction-1",
            groups=(
                UdpJsonGroupMap(group_id="north", signal_group=2),
                UdpJsonGroupMap(group_id="east", signal_group=4),
            ),
        )
    )
    feed = SpatFeed("rsu", ["junction-1"])
    live = LiveSpat([adapter], feed, time.time_ns, poll_hz=1 / 600)
    await live.start()
    task = asyncio.create_task(live.run())
    try:
        await until(lambda: feed.sequence >= 1, "the first poll published")
        assert feed.latest["junction-1"].movements[0].state is P.UNAVAILABLE
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(_datagram(1, SignalColour.GREEN, 0), ("127.0.0.1", adapter.port))
        await until(
            lambda: feed.latest["junction-1"].movements[0].state is P.PROTECTED_MOVEMENT_ALLOWED,
            "the datagram's green published before the next poll (600 s away)",
            limit_s=30.0,
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await live.stop()
