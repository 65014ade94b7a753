"""Shared test fixtures. Servers run for real on free ports on 127.0.0.1."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from vehicle.testing import FakeRoadside
from vicoop.model import DetectedObject, ObjectClass, Size3, Vec3
from vicoop.signing import CommandSigner, load_private_key, write_key_pair

# The twin's command-signing key pair for every test that runs a twin and RSUs (made once per
# test process; vicoop.signing): the twin signs with TWIN_KEY, RSUs trust RSU_COMMAND_KEYS.
_KEYS = Path(tempfile.mkdtemp(prefix="vicoop-test-keys-"))
TWIN_KEY = _KEYS / "twin-command-key.pem"
TWIN_PUBLIC_KEY = _KEYS / "twin-command-key.pub.pem"
write_key_pair(TWIN_KEY, TWIN_PUBLIC_KEY)
atexit.register(shutil.rmtree, _KEYS, True)
RSU_COMMAND_KEYS = ({"key_id": "twin-1", "public_key_file": str(TWIN_PUBLIC_KEY)},)


def twin_signer() -> CommandSigner:
    """The twin's signer with TWIN_KEY (key id ``twin-1``), for a ``TwinIngest`` of a test."""
    return CommandSigner(load_private_key(TWIN_KEY, "TWIN_KEY"), "twin-1")


def twin_signed(rsu_id: str, command: bytes, sent_at_ns: int | None = None) -> bytes:
    """``command`` (a serialized Command) as the twin sends it to ``rsu_id``: signed with
    TWIN_KEY, a ``SignedCommand`` payload for the RSU's command topic."""
    from vicoop import codec_cloud

    now = time.time_ns() if sent_at_ns is None else sent_at_ns
    return codec_cloud.encode_signed_command(twin_signer().sign(rsu_id, command, now))


if TYPE_CHECKING:
    from cloud.broker import EmbeddedBroker

# The machines are shared and noisy: hypothesis must judge inputs, never the clock.
settings.register_profile("vicoop", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("vicoop")


def make_object(
    track_id: int = 1,
    x: float = 0.0,
    y: float = 0.0,
    object_class: ObjectClass = ObjectClass.CAR,
    valid_at_ns: int | None = None,
    vx: float = 0.0,
    vy: float = 0.0,
    heading_rad: float = 0.0,
) -> DetectedObject:
    """A detected object at (x, y) metres ENU; defaults to a stationary car at the origin."""
    return DetectedObject(
        track_id=track_id,
        object_class=object_class,
        class_confidence=0.8,
        position=Vec3(x, y, 0.75),
        velocity=Vec3(vx, vy, 0.0),
        heading_rad=heading_rad,
        size=Size3(4.5, 1.8, 1.5),
        position_covariance=(0.25, 0.0, 0.0, 0.25, 0.0, 0.01),
        existence_probability=0.95,
        valid_at_ns=time.time_ns() if valid_at_ns is None else valid_at_ns,
        sensor_ids=("cam-1", "radar-1"),
    )


def run_vicoop(*args: str, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """``vicoop --log-level WARNING ARGS`` as a user runs it (its own process), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "--log-level", "WARNING", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture
def object_factory() -> Callable[..., DetectedObject]:
    return make_object


@pytest.fixture
async def fake_rsu() -> AsyncIterator[FakeRoadside]:
    """A fake RSU (the real server, frames published by the test) on a free port."""
    async with FakeRoadside() as rsu:
        yield rsu


async def until(condition: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    """Wait for ``condition``; fail naming ``what`` if it never comes (a hang guard, not a
    timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


class KillableBroker:
    """A broker of this test's own on a fixed free port (a ``mosquitto`` process when installed,
    else the embedded amqtt one), never the system one: ``kill()`` (SIGKILL for Mosquitto) and
    ``start()`` again on the same port."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.mosquitto = shutil.which("mosquitto")
        self._process: subprocess.Popen[bytes] | None = None
        self._embedded: EmbeddedBroker | None = None

    async def start(self) -> None:
        if self.mosquitto:
            self._process = subprocess.Popen(
                [self.mosquitto, "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await _port_open(self.port)
        else:
            from cloud.broker import EmbeddedBroker  # the cloud extra; only without Mosquitto

            self._embedded = EmbeddedBroker(port=self.port)
            await self._embedded.start()

    async def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self._process.wait)
            self._process = None
        if self._embedded is not None:
            await self._embedded.stop()
            self._embedded = None


async def _port_open(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"mosquitto did not listen on {port}")


@pytest.fixture
async def killable_broker() -> AsyncIterator[KillableBroker]:
    broker = KillableBroker()
    await broker.start()
    try:
        yield broker
    finally:
        await broker.kill()


# ---- certificates ----


def make_pki(directory: Path, *, rsus: Sequence[str] = (), vehicles: Sequence[str] = ()) -> Path:
    """A pilot's certificates made by ``vicoop certs`` in ``directory``: the CAs, a server
    certificate for 127.0.0.1 and localhost, the twin's, and ``rsus``' and ``vehicles``'."""
    from console.cli import main  # the roadside extra (cryptography)

    d = str(directory)
    steps: list[list[str]] = [
        ["ca", "--dir", d],
        ["server", "--dir", d, "--dns", "localhost", "--ip", "127.0.0.1"],
        ["twin", "--dir", d],
    ]
    if rsus:
        steps.append(["rsu", "--dir", d, *rsus])
    if vehicles:
        steps.append(["vehicle", "--dir", d, *vehicles])
    for step in steps:
        assert main(["certs", *step]) == 0, step
    return directory


@pytest.fixture
def pki(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A pilot's certificates (``make_pki``) for RSUs rsu-a and rsu-b and vehicles car-1 and
    car-2, in this test's own folder."""
    directory = make_pki(tmp_path / "pki", rsus=("rsu-a", "rsu-b"), vehicles=("car-1", "car-2"))
    capsys.readouterr()  # the files it listed
    return directory
