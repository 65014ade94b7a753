"""The intersections of a SUMO scenario for ``vicoop rsu export-its --scenario``: the map of each
of its traffic-light junctions (``hil.intersection``), in order of junction id, numbered 1..

A geo-referenced net gives each junction its own origin (the junction's WGS84 position, its ENU
frame about it, as a rig site puts an RSU there); a net without a projection has one fallback
origin (``hil.site.FALLBACK_ORIGIN``) at its first junction, the others placed about it.
"""

from __future__ import annotations

import os
from pathlib import Path

from hil import scenarios
from hil.errors import ScenarioError
from hil.geo import NetToEnu
from hil.intersection import build_intersection, net_to_enu, read_net, signalised_junctions
from hil.site import FALLBACK_ORIGIN, find_sumocfg, intersection_id
from hil.sumo import net_file
from roadside.its.export import ItsIntersection
from vicoop.model import GeodeticOrigin

__all__ = ["scenario_intersections"]


def _net_path(scenario: Path) -> Path:
    if scenario.is_file() and scenario.name.endswith(".net.xml"):
        return scenario
    return net_file(find_sumocfg(scenario))


def scenario_intersections(scenario: str) -> list[ItsIntersection]:
    """The maps of the traffic-light junctions of ``scenario`` (a folder, a ``.sumocfg``, a
    ``.net.xml``, or a bundled or fetched scenario's name)."""
    fetched = scenarios.default_dir(os.environ, Path.home())
    net = read_net(_net_path(scenarios.resolve(scenario, scenarios.BUNDLED_DIR, fetched)))
    junctions = signalised_junctions(net)
    if not junctions:
        raise ScenarioError(f"{scenario}: no traffic-light junction to export")
    out = []
    first_xy: tuple[float, float] | None = None
    for k, junction in enumerate(junctions, start=1):
        x, y = (float(v) for v in net.getNode(junction).getCoord()[:2])
        if net.hasGeoProj():
            lon, lat = net.convertXY2LonLat(x, y)
            origin = GeodeticOrigin(float(lat), float(lon), FALLBACK_ORIGIN.altitude_m)
            to_enu = net_to_enu(net, origin, (x, y))
        else:
            origin = FALLBACK_ORIGIN
            first_xy = first_xy or (x, y)
            to_enu = NetToEnu.translation(first_xy)
        si = build_intersection(net, junction, to_enu, intersection_id(junction))
        out.append(ItsIntersection(si.map, k, origin))
    return out
