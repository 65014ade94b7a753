"""The RSU daemon over TLS: configured from its file, certificates reloaded on a real SIGHUP."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest
import yaml

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon, serve
from tests.conftest import make_pki
from tests.vicoop.serving.test_tls import get_site, server_tls, vehicle_tls
from vehicle.testing import FakeRoadside
from vicoop import config as config_io
from vicoop.errors import ConfigError
from vicoop.mqtt import mqtt_credentials, parse_mqtt_url

PROBE = Path(__file__).resolve().parents[2] / "deploy" / "container" / "healthcheck.py"


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


def test_the_broker_certificate_must_be_this_rsus(pki: Path) -> None:
    def cloud(identity: str) -> dict[str, object]:
        return {
            "enabled": True,
            "mqtt_url": "mqtts://127.0.0.1:8883",
            "mqtt_auth": {
                "ca_file": str(pki / "ca.pem"),
                "cert_file": str(pki / f"{identity}.pem"),
                "key_file": str(pki / f"{identity}.key"),
            },
        }

    config_io.validate(RsuConfig, {"rsu_id": "rsu-a", "cloud": cloud("rsu.rsu-a")}, "rsu.yaml")
    with pytest.raises(ConfigError) as excinfo:
        config_io.validate(RsuConfig, {"rsu_id": "rsu-a", "cloud": cloud("rsu.rsu-b")}, "rsu.yaml")
    assert "its CN 'rsu-b' is not this RSU's id 'rsu-a'" in str(excinfo.value)
    # TLS files for a plain mqtt:// broker, and half a key pair, are refused naming the fields.
    plain = {**cloud("rsu.rsu-a"), "mqtt_url": "mqtt://127.0.0.1:1883"}
    with pytest.raises(ConfigError, match="TLS files for a plain mqtt:// broker"):
        config_io.validate(RsuConfig, {"rsu_id": "rsu-a", "cloud": plain}, "rsu.yaml")
    half = cloud("rsu.rsu-a")
    half["mqtt_auth"] = {"cert_file": str(pki / "rsu.rsu-a.pem")}
    with pytest.raises(ConfigError, match="cert_file and key_file go together"):
        config_io.validate(RsuConfig, {"rsu_id": "rsu-a", "cloud": half}, "rsu.yaml")


def test_a_password_comes_from_its_file_and_is_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("hunter2-very-secret\n")
    data = {
        "rsu_id": "rsu-a",
        "cloud": {
            "mqtt_url": "mqtt://rsu-a@127.0.0.1:1883",
            "mqtt_auth": {"password_file": str(secret)},
        },
    }
    config = config_io.validate(RsuConfig, data, "rsu.yaml")
    credentials = mqtt_credentials(parse_mqtt_url(config.cloud.mqtt_url), config.cloud.mqtt_auth)
    assert (credentials.username, credentials.password) == ("rsu-a", "hunter2-very-secret")
    assert "hunter2" not in repr(credentials) and "hunter2" not in repr(config)
    leaked = {**data, "cloud": {"mqtt_url": "mqtt://rsu-a:hunter2-very-secret@127.0.0.1:1883"}}
    with pytest.raises(ConfigError) as excinfo:
        config_io.validate(RsuConfig, leaked, "rsu.yaml")
    assert "hunter2" not in str(excinfo.value) and "password_file" in str(excinfo.value)
    missing = {
        **data,
        "cloud": {**data["cloud"], "mqtt_auth": {"password_file": str(tmp_path / "x")}},
    }  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match=r"password_file .*/x: cannot read the file"):
        config_io.validate(RsuConfig, missing, "rsu.yaml")


async def test_the_container_probe_speaks_tls_to_a_tls_rsu(pki: Path, tmp_path: Path) -> None:
    async def run(config: Path, **env: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(PROBE),
            str(config),
            env={**os.environ, "VICOOP_HEALTH_TARGET": "", **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 30)
        return await process.wait(), out.decode()

    for mutual in (False, True):
        tls = server_tls(pki, mutual=mutual)
        async with FakeRoadside(tls=tls) as rsu:
            config = tmp_path / "rsu.yaml"
            host, port = rsu.target.rsplit(":", 1)
            files = {k: str(v) for k, v in tls.model_dump().items() if v is not None}
            config.write_text(
                yaml.safe_dump({"server": {"host": host, "port": int(port), "tls": files}})
            )
            if not mutual:
                assert await run(config) == (0, f"{rsu.target}: SERVING\n")
                continue
            code, out = await run(config)
            assert code == 1 and "UNAVAILABLE" in out  # mutual TLS: no certificate, no probe
            vehicle = {
                "VICOOP_HEALTH_CERT": str(pki / "vehicle.car-1.pem"),
                "VICOOP_HEALTH_KEY": str(pki / "vehicle.car-1.key"),
            }
            assert await run(config, **vehicle) == (0, f"{rsu.target}: SERVING\n")
