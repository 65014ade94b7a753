"""A real site's MAP from the RSU's configuration file, served by the daemon to vehicles."""

from __future__ import annotations

from typing import Any, get_args

import pytest
import yaml

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.map_config import ManoeuvreName
from vehicle import RoadsideClient
from vicoop import config as config_io
from vicoop.errors import ConfigError
from vicoop.intersection import MANOEUVRE_NAMES, LaneDirection, Manoeuvre

SITE = """
rsu_id: pole-3
server: {port: 0}
metrics: {enabled: false}
map:
  intersections:
    - intersection_id: junction-1
      revision: 4
      lanes:
        - {lane_id: 1, name: north-in, direction: ingress, approach: 1, width_m: 3.5,
           centre_line: [[-1.75, 40.0], [-1.75, 10.0]], manoeuvres: [straight, right],
           speed_limit_mps: 13.9}
        - {lane_id: 6, name: south-out, direction: egress, approach: 3, width_m: 3.5,
           centre_line: [[-1.75, -10.0], [-1.75, -40.0]]}
        - {lane_id: 8, name: west-out, direction: egress, approach: 4, width_m: 3.5,
           centre_line: [[-10.0, 1.75], [-40.0, 1.75]]}
      connections:
        - {connection_id: 0, from_lane: 1, to_lane: 6, signal_group: 2}
        - {connection_id: 1, from_lane: 1, to_lane: 8, manoeuvre: right}
      signal_groups: [{signal_group: 2, name: north-south}, {signal_group: 6, name: crossing}]
      conflicts: [[2, 6]]
      crosswalks:
        - {crosswalk_id: 20, name: north crossing, centre_line: [[-5.0, 12.0], [5.0, 12.0]],
           width_m: 3.0, signal_group: 6, crosses: [1]}
"""


def site(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SITE)
    data["map"]["intersections"][0].update(changes)
    return data


def test_the_manoeuvre_names_of_the_file_are_the_models() -> None:
    assert set(get_args(ManoeuvreName)) == set(MANOEUVRE_NAMES)


def test_a_site_files_map_becomes_the_intersection_model() -> None:
    config = config_io.validate(RsuConfig, site(), "rsu.yaml")
    (m,) = config.map.models()
    assert (m.intersection_id, m.revision) == ("junction-1", 4)
    north = m.lane(1)
    assert north.direction is LaneDirection.INGRESS
    assert north.manoeuvres == Manoeuvre.STRAIGHT | Manoeuvre.RIGHT
    # No stop lines given: one across the end of the ingress lane, as wide as the lane.
    (stop,) = m.stop_lines
    assert (stop.lane_id, stop.midpoint) == (1, (-1.75, 10.0))
    assert [c.signal_group for c in m.connections] == [2, None]  # the free right turn
    assert m.conflicting(2) == {6} and m.conflicting(6) == {2}
    assert m.crosswalks[0].crosses == (1,)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (
            {
                "connections": [
                    {"connection_id": 0, "from_lane": 1, "to_lane": 77, "signal_group": 2}
                ]
            },
            r"map.intersections.0: .*connections\[0\].to_lane: unknown lane 77",
        ),
        ({"conflicts": [[2, 9]]}, r"conflicts\[0\]: unknown signal group 9"),
        (
            {"signal_groups": [{"signal_group": 2}, {"signal_group": 6}, {"signal_group": 7}]},
            r"signal_groups\[2\]: group 7 is used by no connection or crosswalk",
        ),
        (
            {"revision": 128},
            r"map.intersections.0.revision: Input should be less than or equal to 127",
        ),
        ({"lanes": []}, r"map.intersections.0.lanes: .*at least 1"),
    ],
)
def test_a_map_that_is_not_whole_is_one_error_naming_the_field(
    changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        config_io.validate(RsuConfig, site(**changes), "rsu.yaml")


async def test_the_daemon_serves_the_sites_map_to_vehicles() -> None:
    config = config_io.validate(RsuConfig, site(), "rsu.yaml")
    async with RoadsideDaemon(config) as daemon, RoadsideClient(daemon.target) as rsu:
        maps = await rsu.map()
    assert maps == {"junction-1": config.map.models()[0]}
