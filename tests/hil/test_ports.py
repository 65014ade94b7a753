"""Ports for the RSUs the rig drives: every one set, the site file's kept, none handed out twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.cli import BUNDLED, resolve_scenario
from hil.errors import HilError
from hil.ports import free_port, rsu_config
from hil.site import with_cloud_link, with_fixed_ports
from roadside.sources.fused_config import SensorsSourceConfig


def test_free_ports_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports) and all(20_000 <= p < 32_000 for p in ports)


def test_every_port_is_set_in_the_configuration_and_reported(tmp_path: Path) -> None:
    _, site, _ = resolve_scenario(BUNDLED, tmp_path)
    site = with_cloud_link(site, "mqtt://127.0.0.1:1", tmp_path)
    (entry,) = site.rsus
    config, ports = rsu_config(entry, fixed=False)
    src = config.source
    assert isinstance(src, SensorsSourceConfig)
    assert ports.sensors == {r.sensor_id: getattr(r.input, "port", 0) for r in src.radars} | {
        c.sensor_id: c.input.port for c in src.cameras
    }
    assert all(ports.sensors.values()) and len(set(ports.sensors.values())) == len(ports.sensors)
    assert ports.server == config.server.port > 0 and config.server.grace_period_s == 0.5
    assert ports.signal == config.cloud.signals.port > 0  # the rig is its signal controller


def test_an_rsu_elsewhere_keeps_the_site_files_ports_and_needs_them_all(tmp_path: Path) -> None:
    _, site, _ = resolve_scenario(BUNDLED, tmp_path)
    with pytest.raises(HilError, match="must give every sensor input's port"):
        rsu_config(site.rsus[0], fixed=True)
    fixed = with_fixed_ports(site, 47100, 50061)
    config, ports = rsu_config(fixed.rsus[0], fixed=True)
    assert sorted(ports.sensors.values()) == list(range(47100, 47100 + len(ports.sensors)))
    assert ports.server == 50061 == config.server.port
