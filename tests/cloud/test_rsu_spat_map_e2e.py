"""SPaT and MAP end to end through the real pieces: a controller datagram to the RSU daemon's
SPaT controller (real UDP) and the site's MAP from its file -> its cloud link -> the broker ->
the twin and its API (``/api/v1/spat``, ``/api/v1/maps``)."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import yaml

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.ingest.signal import encode
from tests.conftest import RSU_COMMAND_KEYS, TWIN_KEY, until
from vicoop import config as config_io
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState
from vicoop.model import NS_PER_S
from vicoop.spat import MovementPhaseState

from .test_api import OPERATOR, call

SITE_MAP = """
lanes:
  - {lane_id: 1, name: north-in, direction: ingress, approach: 1, width_m: 3.5,
     centre_line: [[-1.75, 40.0], [-1.75, 10.0]], manoeuvres: [straight]}
  - {lane_id: 6, name: south-out, direction: egress, approach: 3, width_m: 3.5,
     centre_line: [[-1.75, -10.0], [-1.75, -40.0]]}
connections:
  - {connection_id: 0, from_lane: 1, to_lane: 6, signal_group: 2}
signal_groups: [{signal_group: 2, name: north-south}]
"""


def _datagram(junction: str, seq: int, colour: SignalColour, change_ns: int) -> bytes:
    groups = (SignalGroupState("north", "north", colour, change_ns),)
    return encode(SignalState("", junction, time.time_ns(), groups), seq)


async def test_spat_and_map_reach_the_twin_and_its_api(
    mqtt_url: str, rsu_id: str, db_url: tuple[str, str | None], tmp_path: Path
) -> None:
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        mqtt_url=mqtt_url,
        db_url=db_url[0],
        http_port=0,
        tokens=(TokenConfig(token=OPERATOR, name="otto", role="operator"),),
    )
    junction = f"junction-{rsu_id}"
    site_map: dict[str, Any] = {"intersection_id": junction, **yaml.safe_load(SITE_MAP)}
    rsu_config = config_io.validate(
        RsuConfig,
        {
            "rsu_id": rsu_id,
            "server": {"port": 0, "grace_period_s": 0.5},
            "metrics": {"enabled": False},
            "cloud": {
                "command_keys": RSU_COMMAND_KEYS,
                "enabled": True,
                "mqtt_url": mqtt_url,
                "outbox_path": str(tmp_path / "rsu-outbox.sqlite3"),
            },
            "spat": {
                "controllers": [
                    {
                        "kind": "udp_json",
                        "intersection_id": junction,
                        "next_change_is_exact": True,
                        "stale_after_s": 600,
                        "groups": [{"group_id": "north", "signal_group": 2}],
                    }
                ]
            },
            "map": {"intersections": [site_map]},
        },
        "rsu.yaml",
    )
    async with (
        CloudService(config, schema=db_url[1]) as service,
        RoadsideDaemon(rsu_config) as daemon,
    ):
        assert daemon.spat is not None
        port = daemon.spat.adapters[0].port  # type: ignore[attr-defined]
        await until(lambda: rsu_id in service.twin.rsus, "the RSU known to the twin")
        await until(lambda: rsu_id in service.twin.maps, "the MAP in the twin")
        assert service.twin.maps[rsu_id] == {junction: rsu_config.map.models()[0]}

        change = time.time_ns() + 30 * NS_PER_S
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as controller:
            controller.sendto(
                _datagram(junction, 1, SignalColour.GREEN, change), ("127.0.0.1", port)
            )

        def north() -> MovementPhaseState | None:
            spat = service.twin.spat.get(rsu_id, {}).get(junction)
            return spat.movements[0].state if spat is not None else None

        await until(
            lambda: north() is MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED, "green in the twin"
        )

        status, spats = await asyncio.to_thread(call, service, "GET", "/api/v1/spat", OPERATOR)
        assert status == 200, spats
        (shown,) = [s for s in spats if s["intersection_id"] == junction]
        assert shown["rsu_id"] == rsu_id
        assert shown["movements"] == [
            {
                "signal_group": 2,
                "state": "protected_movement_allowed",
                "min_end_ns": change,
                "max_end_ns": change,
                "likely_end_ns": change,
                "confidence": 1.0,
            }
        ]
        status, maps = await asyncio.to_thread(call, service, "GET", "/api/v1/maps", OPERATOR)
        assert status == 200, maps
        (drawn,) = [m for m in maps if m["intersection_id"] == junction]
        lanes = {lane["lane_id"]: lane for lane in drawn["lanes"]}
        assert set(lanes) == {1, 6}
        # In WGS84 about the RSU's origin: the ingress lane runs south towards the junction.
        (lat0, lon0), (lat1, lon1) = lanes[1]["centre_line"]
        assert lat0 > lat1 and abs(lon0 - lon1) < 1e-9
        (stop,) = drawn["stop_lines"]
        assert (stop["lane_id"], stop["signal_groups"]) == (1, [2])  # its signal head
