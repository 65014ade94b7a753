"""The RSU daemon over TLS: configured from its file, certificates reloaded on a real SIGHUP."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon, serve
from tests.conftest import make_pki
from tests.vicoop.serving.test_tls import get_site, vehicle_tls
from vicoop import config as config_io


async def test_sighup_reloads_the_certificates_for_new_connections(
    pki: Path, tmp_path: Path
) -> None:
    renewed = make_pki(tmp_path / "renewed")
    live = tmp_path / "live"
    live.mkdir()
    for name in ("server.pem", "server.key"):
        shutil.copy(pki / name, live / name)
    config = config_io.validate(
        RsuConfig,
        {
            "rsu_id": "rsu-a",
            "server": {
                "port": 0,
                "tls": {
                    "cert_file": str(live / "server.pem"),
                    "key_file": str(live / "server.key"),
                },
            },
            "metrics": {"enabled": False},
        },
        "rsu.yaml",
    )
    started: asyncio.Future[RoadsideDaemon] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stop, on_started=started.set_result))
    try:
        daemon = await asyncio.wait_for(started, 30)
        target = daemon.target
        assert await get_site(target, vehicle_tls(pki)) == "rsu-a"
        assert await get_site(target, None) == "UNAVAILABLE"
        for name in ("server.pem", "server.key"):
            shutil.copy(renewed / name, live / name)
        os.kill(os.getpid(), signal.SIGHUP)
        tls = daemon.server.tls
        assert tls is not None
        for _ in range(500):
            if tls.reloads:
                break
            await asyncio.sleep(0.01)
        assert tls.reloads == 1
        assert await get_site(target, vehicle_tls(renewed)) == "rsu-a"
        assert await get_site(target, vehicle_tls(pki)) == "UNAVAILABLE"
    finally:
        stop.set()
        await running
    # The handler is gone with the daemon: SIGHUP is not left pointing at it.
    assert signal.getsignal(signal.SIGHUP) in (signal.SIG_DFL, signal.SIG_IGN, None)
