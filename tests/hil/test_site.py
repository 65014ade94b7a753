"""Site files: generated for a junction of any SUMO net, loaded back, shared with the RSU."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import yaml

from hil.site import (
    arm_bearings,
    dump_site,
    generate_site,
    load_site,
    poles_for,
    road_bearings,
    rsu_yaml,
)
from hil.sumo import sumo_binary
from roadside.config import RsuConfig
from vicoop import config as config_io
from vicoop.errors import ConfigError
from vicoop.model import GeodeticOrigin

pytest.importorskip("libsumo")


def test_arms_merge_a_streets_edges_and_poles_look_down_each_arm() -> None:
    roads = road_bearings(
        (0.0, 0.0),
        [[(0.0, 0.0), (100.0, 1.0)], [(100.0, -1.0), (0.0, 0.0)], [(0.0, 0.0), (0.0, 80.0)]],
    )
    arms = arm_bearings(roads)
    assert len(arms) == 2
    assert [round(math.degrees(a)) for a in arms] == [0, 90]
    (x, _y, yaw), _ = poles_for(arms, setback_m=20.0)
    assert x < 0  # the pole for the eastern arm stands west of the junction ...
    assert abs(math.degrees(yaw)) < 20  # ... and looks east across it


@pytest.fixture
def user_net(tmp_path: Path) -> Path:
    """A user's own scenario: a net without a geo reference, two signalised junctions."""
    netgenerate = Path(sumo_binary()).with_name("netgenerate")
    net = tmp_path / "grid.net.xml"
    subprocess.run(
        [
            str(netgenerate),
            "--grid",
            "--grid.number",
            "3",
            "--grid.length",
            "120",
            "--tls.set",
            "B1,C1",
            "-o",
            str(net),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    cfg = tmp_path / "grid.sumocfg"
    cfg.write_text('<configuration><input><net-file value="grid.net.xml"/></input></configuration>')
    return cfg


def test_generated_site_for_a_net_without_geo_reference(user_net: Path, tmp_path: Path) -> None:
    origin = GeodeticOrigin(48.1, 11.5, 500.0)
    site = generate_site(user_net, fallback_origin=origin, site_path=tmp_path / "grid.site.yaml")
    assert site.geo_referenced is False
    assert [r.junction for r in site.rsus] == ["B1", "C1"]
    b1 = site.rsus[0]
    assert b1.junction_xy_m == (120.0, 120.0)
    assert b1.rsu.origin.to_model() == origin  # the fallback origin, stated as such
    assert len(b1.sensors.radars) == 4 and len(b1.sensors.cameras) == 4  # a pole per arm
    # Its cloud link (when enabled) watches the junction and publishes its lights as SUMO has
    # them (the rig plays the signal controller).
    assert [i.intersection_id for i in b1.rsu.cloud.intersections] == ["B1"]
    assert b1.rsu.cloud.signals.source == "controller" and not b1.rsu.cloud.enabled
    path = tmp_path / "grid.site.yaml"
    dump_site(site, path)
    assert load_site(path) == site
    assert load_site(path).sumo_config == "grid.sumocfg"


def test_a_junction_can_be_chosen_and_the_rsu_yaml_is_the_sites_own(
    user_net: Path, tmp_path: Path
) -> None:
    site = generate_site(user_net, ["A1"], site_path=tmp_path / "a.site.yaml")
    assert [r.junction for r in site.rsus] == ["A1"]
    rsu = site.rsus[0].rsu
    assert rsu.cloud.signals.source == "none"  # no traffic light: no signal states at all
    (tmp_path / "rsu.yaml").write_text(rsu_yaml(rsu))
    assert config_io.load(RsuConfig, tmp_path / "rsu.yaml") == rsu  # what `vicoop rsu run` reads


def test_geo_referenced_scenario_gets_its_junctions_wgs84_origin() -> None:
    bundled = Path(__file__).parents[2] / "hil" / "scenarios" / "crossing" / "crossing.sumocfg"
    site = generate_site(bundled)
    assert site.geo_referenced
    o = site.rsus[0].rsu.origin
    assert abs(o.latitude_deg - 50.9386) < 1e-3 and abs(o.longitude_deg - 6.9504) < 1e-3


def test_a_bad_site_file_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.site.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "sumo_config": "x.sumocfg",
                "rsus": [{"junction": "J", "junction_xy_m": [0, 0], "rsu": {}}],
            }
        )
    )
    with pytest.raises(
        ConfigError, match=r"bad.site.yaml: rsus.0: Value error, rsu.source.kind must be 'sensors'"
    ):
        load_site(path)


def test_a_net_without_signals_gets_an_rsu_where_most_roads_meet(tmp_path: Path) -> None:
    netgenerate = Path(sumo_binary()).with_name("netgenerate")
    subprocess.run(
        [str(netgenerate), "--grid", "--grid.number", "3", "-o", str(tmp_path / "plain.net.xml")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    cfg = tmp_path / "plain.sumocfg"
    cfg.write_text(
        '<configuration><input><net-file value="plain.net.xml"/></input></configuration>'
    )
    assert [r.junction for r in generate_site(cfg).rsus] == [
        "B1"
    ]  # the grid's only four-way crossing
