"""Ports for the RSUs the rig drives: every sensor input, the signal input and the gRPC server.

``rsu_config`` rewrites an RSU's configuration from the site file so that every port it listens
on is set: the site file's port where it gives one, else a free loopback port (``free_port``).
An RSU on another box (``fixed=True``) must have every port in the site file, as the rig cannot
choose them for it.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from hil.errors import HilError
from hil.site import SiteRsu
from roadside.config import RsuConfig

__all__ = ["RsuPorts", "free_port", "rsu_config"]

# Ports the rig hands out come from below Linux's ephemeral range (32768-60999): a port the
# kernel gave for port 0 can be given again, to the next request or to any socket that sends
# before binding (the rig's own UDP sender, a client's connection), before the RSU binds it.
_PORTS = range(20_000, 32_000)
_handed_out: set[int] = set()
_pick = random.Random()

_WRITE_PORTS = "write one with: vicoop hil site --ports BASE --rsu-yaml DIR"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A loopback port of ``kind`` that is free now and that this process has not handed out
    before (so many RSUs' sensor inputs and servers never collide)."""
    for _ in range(1000):
        port = _pick.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise HilError(f"no free loopback port in {_PORTS.start}-{_PORTS.stop - 1}")


def _takes_signals(config: RsuConfig) -> bool:
    """Whether the RSU takes its signal states from a controller (the rig, over UDP)."""
    return config.cloud.enabled and config.cloud.signals.source == "controller"


@dataclass(frozen=True)
class RsuPorts:
    """The ports an RSU listens on: each sensor's UDP input (by sensor id), its signal input's
    (0: it takes no controller states) and its gRPC server's."""

    sensors: Mapping[str, int]
    signal: int
    server: int


def rsu_config(site_rsu: SiteRsu, fixed: bool) -> tuple[RsuConfig, RsuPorts]:
    """The site RSU's configuration with every port set (``fixed``: only the site file's own,
    a missing one is a ``HilError``) and a 0.5 s grace period for its server; and its ports."""
    src = site_rsu.sensors
    config = site_rsu.rsu
    if fixed:
        inputs = [(r.sensor_id, r.input) for r in src.radars] + [
            (c.sensor_id, c.input) for c in src.cameras
        ]
        unset = [sid for sid, i in inputs if not getattr(i, "port", 0)]
        if unset:
            raise HilError(
                f"with --rsu the site file must give every sensor input's port ({', '.join(unset)} "
                f"have port 0); {_WRITE_PORTS}"
            )
    radars = tuple(
        r.model_copy(
            update={
                "input": r.input.model_copy(
                    update={"port": getattr(r.input, "port", 0) or free_port()}
                )
            }
        )
        for r in src.radars
    )
    cameras = tuple(
        c.model_copy(
            update={
                "input": c.input.model_copy(
                    update={"port": getattr(c.input, "port", 0) or free_port()}
                )
            }
        )
        for c in src.cameras
    )
    server_port = config.server.port or free_port(socket.SOCK_STREAM)
    cloud = config.cloud
    signal = 0
    if _takes_signals(config):
        if fixed and not cloud.signals.port:
            raise HilError(
                "with --rsu the site file must give the signal input's port (cloud.signals.port); "
                + _WRITE_PORTS
            )
        signal = cloud.signals.port or free_port()
        cloud = cloud.model_copy(
            update={"signals": cloud.signals.model_copy(update={"port": signal})}
        )
    sensors = {r.sensor_id: getattr(r.input, "port", 0) for r in radars}
    sensors |= {c.sensor_id: getattr(c.input, "port", 0) for c in cameras}
    config = config.model_copy(
        update={
            "source": src.model_copy(update={"radars": radars, "cameras": cameras}),
            "server": config.server.model_copy(update={"port": server_port, "grace_period_s": 0.5}),
            "cloud": cloud,
        }
    )
    return config, RsuPorts(sensors, signal, server_port)
