"""Signal controller states end to end through the real pieces: a datagram to the RSU daemon's
signal input (real UDP) -> its cloud link -> the broker -> the twin and its API. A malformed
datagram is counted and rejected, and the daemon keeps going."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.ingest.signal import encode
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, until
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState
from vicoop.model import NS_PER_S

from .test_api import OPERATOR, call

G, R = SignalColour.GREEN, SignalColour.RED


def controller_state(
    junction: str, t_ns: int, north_south: SignalColour, next_change_ns: int
) -> SignalState:
    east_west = R if north_south is G else G
    return SignalState(
        "",
        junction,
        t_ns,
        tuple(
            SignalGroupState(
                f"k-{a}", a, north_south if a in ("north", "south") else east_west, next_change_ns
            )
            for a in ("north", "east", "south", "west")
        ),
    )


async def test_controller_states_reach_the_twin(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=OPERATOR, name="otto", role="operator"),),
    )
    # The broker outlives test runs and keeps each RSU's last signal state retained (keyed by
    # intersection in the twin), so this run's RSU and intersection have ids of their own.
    junction = f"junction-{rsu_id}"
    rsu_config = RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "server": {"port": 0, "grace_period_s": 0.5},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
                "intersections": [{"intersection_id": junction}],
                "signals": {"source": "controller", "port": 0, "stale_after_s": 600},
            },
        }
    )
    # The signal controller's socket; a shared broker may hold other tests' RSUs and their
    # intersections, so this one has an intersection id of its own.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as controller:
        async with (
            CloudService(config, schema=db_url[1]) as service,
            RoadsideDaemon(rsu_config) as daemon,
        ):
            assert daemon.signal_port
            signal_input = ("127.0.0.1", daemon.signal_port)

            def twin_colours() -> dict[str, str]:
                state = service.twin.signals.get(junction)
                return {g.approach: g.colour.name.lower() for g in state.groups} if state else {}

            await until(lambda: rsu_id in service.twin.rsus, "the RSU known to the twin")
            # Before the controller says anything the twin is told nothing about the colours.
            assert twin_colours() == {}

            now = daemon.clock()
            change = now + 20 * NS_PER_S
            controller.sendto(encode(controller_state(junction, now, G, change), 1), signal_input)
            want = {"north": "green", "east": "red", "south": "green", "west": "red"}
            await until(lambda: twin_colours() == want, "north-south green in the twin")
            state = service.twin.signals[junction]
            assert state.rsu_id == rsu_id and state.valid_at_ns == now
            assert {g.next_change_ns for g in state.groups} == {change}

            controller.sendto(
                b'{"v": 1, "intersection_id": "%s", "seq": "x"}' % junction.encode(), signal_input
            )
            controller.sendto(b"\x00garbage", signal_input)
            controller.sendto(
                encode(controller_state(junction, now, R, change), 1), signal_input
            )  # again seq 1
            controller.sendto(
                encode(controller_state(junction, now + NS_PER_S, R, change + NS_PER_S), 2),
                signal_input,
            )
            want = {"north": "red", "east": "green", "south": "red", "west": "green"}
            await until(lambda: twin_colours() == want, "east-west green in the twin")
            assert daemon.signal_input is not None
            assert daemon.signal_input.stats.accepted == 2
            assert dict(daemon.signal_input.stats.rejected) == {
                "bad_field": 1,
                "bad_json": 1,
                "duplicate": 1,
            }

            # What an operator reads from the API.
            status, intersections = await asyncio.to_thread(
                call, service, "GET", "/api/v1/intersections", OPERATOR
            )
            assert status == 200, intersections
            (shown,) = [i for i in intersections if i["intersection_id"] == junction]
            assert {g["approach"]: g["colour"] for g in shown["signal"]} == want


async def test_a_forged_seq_far_ahead_does_not_lock_the_real_controller_out_of_the_twin(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    """Defect: a state 64 ahead of the controller's was shown (all green) and the controller's
    next 64 states were rejected as out of order."""
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=OPERATOR, name="otto", role="operator"),),
    )
    junction = f"junction-{rsu_id}"
    rsu_config = RsuConfig.model_validate(
        {
            "rsu_id": rsu_id,
            "server": {"port": 0, "grace_period_s": 0.5},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
                "intersections": [{"intersection_id": junction}],
                "signals": {"source": "controller", "port": 0, "stale_after_s": 600},
            },
        }
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as controller:
        async with (
            CloudService(config, schema=db_url[1]) as service,
            RoadsideDaemon(rsu_config) as daemon,
        ):
            assert daemon.signal_port and daemon.signal_input is not None
            signal_input = ("127.0.0.1", daemon.signal_port)

            def twin_state() -> tuple[int, dict[str, str]]:
                state = service.twin.signals.get(junction)
                if state is None:
                    return 0, {}
                return state.valid_at_ns, {g.approach: g.colour.name.lower() for g in state.groups}

            await until(lambda: rsu_id in service.twin.rsus, "the RSU known to the twin")
            now = daemon.clock()
            change = now + 20 * NS_PER_S
            controller.sendto(encode(controller_state(junction, now, R, change), 100), signal_input)
            await until(lambda: twin_state()[0] == now, "the controller's first state")
            forged = SignalState(
                "",
                junction,
                now + NS_PER_S // 2,
                tuple(SignalGroupState(f"k-{a}", a, G, change) for a in ("north", "east")),
            )
            controller.sendto(encode(forged, 164), signal_input)
            for i in range(1, 4):
                colour = G if i % 2 else R
                controller.sendto(
                    encode(controller_state(junction, now + i * NS_PER_S, colour, change), 100 + i),
                    signal_input,
                )
            last = {"north": "green", "east": "red", "south": "green", "west": "red"}
            await until(
                lambda: twin_state() == (now + 3 * NS_PER_S, last), "the controller's third state"
            )
            assert daemon.signal_input.stats.accepted == 4
            assert dict(daemon.signal_input.stats.rejected) == {"seq_jump": 1}
