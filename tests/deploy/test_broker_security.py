"""The shipped Mosquitto configuration (deploy/mosquitto: TLS listener, client certificates,
ACL) on a real Mosquitto, with certificates from ``vicoop certs``: what an impostor and a
misbehaving RSU try, and the real RSU and twin working through it.

Refusals of a publish are read from MQTT 5's PUBACK (QoS 1): 0x87, not authorized (Mosquitto
drops such a message silently for MQTT 3.1.1 clients); that the message reached no subscriber is
checked too, with a message the same client may publish sent after it."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from cloud.config import CloudConfig
from cloud.service import CloudService
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from tests.conftest import make_pki, until
from vicoop.mqtt import MqttAuthConfig

ROOT = Path(__file__).resolve().parents[2]
MOSQUITTO_DIR = ROOT / "deploy" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
NOT_AUTHORIZED = 0x87
# PUBACK reason codes of an accepted publish: success, and success with no subscriber.
ACCEPTED = (0x00, 0x10)

pytestmark = pytest.mark.skipif(
    not os.access(MOSQUITTO, os.X_OK),
    reason="needs Mosquitto (apt-get install mosquitto; `make mosquitto` does it as root)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Broker:
    tls_port: int
    plain_port: int
    pki: Path


def broker_config(shipped: str, folder: Path, pki: Path, tls_port: int, plain_port: int) -> str:
    """The shipped mosquitto.conf for this test: its listeners on loopback at free ports, its
    paths in ``folder`` (the certificates from ``pki``), no persistence, the log in a file;
    every other line as shipped."""
    lines = []
    for line in shipped.splitlines():
        key, _, value = line.strip().partition(" ")
        if key == "listener":
            line = f"listener {tls_port if value == '8883' else plain_port} 127.0.0.1"
        elif key == "persistence":
            line = "persistence false"
        elif key == "log_dest":
            line = f"log_dest file {folder / 'mosquitto.log'}"
        line = line.replace("/mosquitto/config/certs/", f"{pki}/")
        line = line.replace("/mosquitto/config/", f"{folder}/")
        line = line.replace("/mosquitto/data/", f"{folder}/data/")
        lines.append(line)
    if os.geteuid() == 0:
        lines.append("user root")  # else it drops to 'mosquitto', who cannot read the keys
    return "\n".join(lines) + "\n"


@pytest.fixture
def broker(pki: Path, tmp_path: Path) -> Iterator[Broker]:
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    shutil.copy(MOSQUITTO_DIR / "acl", folder / "acl")
    (folder / "passwd").write_text("")  # no password users: the TLS listener is the one used
    tls_port, plain_port = _free_port(), _free_port()
    conf = folder / "mosquitto.conf"
    shipped = (MOSQUITTO_DIR / "mosquitto.conf").read_text(encoding="utf-8")
    conf.write_text(broker_config(shipped, folder, pki, tls_port, plain_port))
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        for _ in range(500):
            if process.poll() is not None:
                log = (
                    (folder / "mosquitto.log").read_text()
                    if (folder / "mosquitto.log").exists()
                    else ""
                )
                raise AssertionError(f"mosquitto exited: {process.stderr.read()!r} {log}")  # type: ignore[union-attr]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", tls_port)) == 0:
                    break
            threading.Event().wait(0.02)
        yield Broker(tls_port, plain_port, pki)
    finally:
        process.terminate()
        process.wait(10)
        assert process.stderr is not None
        process.stderr.close()


def client_context(pki: Path, identity: str | None, ca: Path | None = None) -> ssl.SSLContext:
    """TLS trusting the pilot's CA, with ``identity``'s certificate (``rsu.rsu-a``, ``twin``,
    ``vehicle.car-1``) or none."""
    context = ssl.create_default_context(cafile=ca or pki / "ca.pem")
    if identity is not None:
        context.load_cert_chain(pki / f"{identity}.pem", pki / f"{identity}.key")
    return context


class Peer:
    """A raw MQTT 5 client (paho) holding one of the pilot's certificates: what a compromised or
    buggy RSU could send. ``publish`` returns the PUBACK's reason code."""

    def __init__(self, broker: Broker, identity: str, client_id: str | None = None) -> None:
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:8]}",
            protocol=paho.MQTTv5,
        )
        self.client.tls_set_context(client_context(broker.pki, identity))
        self._acks: dict[int, int] = {}
        self._acked = threading.Condition()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = lambda *args: self.disconnected.set()
        self.client.connect("127.0.0.1", broker.tls_port, keepalive=30)
        self.client.loop_start()
        assert self.connected.wait(10), f"{identity} did not connect"

    def _on_connect(
        self,
        client: object,
        userdata: object,
        flags: object,
        rc: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not rc.is_failure:
            self.connected.set()

    def _on_publish(
        self,
        client: object,
        userdata: object,
        mid: int,
        rc: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._acked:
            self._acks[mid] = rc.value
            self._acked.notify_all()

    def publish(self, topic: str, payload: bytes = b"x") -> int:
        info = self.client.publish(topic, payload, qos=1)
        with self._acked:
            assert self._acked.wait_for(lambda: info.mid in self._acks, 10), topic
            return self._acks.pop(info.mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def peers(broker: Broker) -> Iterator[dict[str, Peer]]:
    made: dict[str, Peer] = {}

    class Peers(dict[str, Peer]):
        def __missing__(self, identity: str) -> Peer:
            made[identity] = self[identity] = Peer(broker, identity)
            return made[identity]

    yield Peers()
    for peer in made.values():
        peer.close()


@pytest.fixture
async def twin_view(broker: Broker) -> AsyncIterator[list[tuple[str, bytes]]]:
    """Every message the twin's identity receives on vicoop/v1/rsu/+/+, as (topic, payload)."""
    seen: list[tuple[str, bytes]] = []
    ready = asyncio.Event()

    async def listen() -> None:
        async with aiomqtt.Client(
            "127.0.0.1",
            broker.tls_port,
            identifier="twin-view",
            tls_context=client_context(broker.pki, "twin"),
        ) as client:
            await client.subscribe("vicoop/v1/rsu/+/+", qos=1)
            ready.set()
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                seen.append((message.topic.value, message.payload))

    task = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 10)
    yield seen
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _connects(broker: Broker, context: ssl.SSLContext, client_id: str) -> bool:
    try:
        async with aiomqtt.Client(
            "127.0.0.1", broker.tls_port, identifier=client_id, tls_context=context, timeout=5
        ) as client:
            await client.publish("vicoop/v1/rsu/rsu-a/status", b"forged", qos=1)
    except aiomqtt.MqttError:
        return False
    return True


async def test_an_impostor_without_a_pilot_certificate_is_refused_at_connect(
    broker: Broker, tmp_path: Path
) -> None:
    """Attack: connect as RSU rsu-a (before: any client could connect and publish as any RSU;
    the shipped configuration had no TLS listener)."""
    other = make_pki(tmp_path / "other", rsus=("rsu-a",), vehicles=("car-1",))
    pki = broker.pki
    assert await _connects(broker, client_context(pki, "rsu.rsu-a"), "vicoop-rsu-rsu-a")
    # No certificate; rsu-a's certificate from another CA; a vehicle's (the vehicles' CA).
    assert not await _connects(broker, client_context(pki, None), "vicoop-rsu-rsu-a")
    forged = ssl.create_default_context(cafile=pki / "ca.pem")
    forged.load_cert_chain(other / "rsu.rsu-a.pem", other / "rsu.rsu-a.key")
    assert not await _connects(broker, forged, "vicoop-rsu-rsu-a")
    assert not await _connects(broker, client_context(pki, "vehicle.car-1"), "car-1")


async def test_an_rsu_cannot_publish_under_another_rsus_id(
    peers: dict[str, Peer], twin_view: list[tuple[str, bytes]]
) -> None:
    """Attack: rsu-a publishes rsu-b's status, objects, outbox and signal state (before: any
    client could mark an RSU offline, replace its objects or events, overwrite its signals)."""
    rsu_a = peers["rsu.rsu-a"]
    for kind in ("status", "perception", "outbox", "signal", "vehicles", "map", "spat"):
        assert rsu_a.publish(f"vicoop/v1/rsu/rsu-b/{kind}", b"forged") == NOT_AUTHORIZED, kind
    assert rsu_a.publish("vicoop/v1/rsu/rsu-a/status", b"mine") in ACCEPTED
    await until(lambda: ("vicoop/v1/rsu/rsu-a/status", b"mine") in twin_view, "rsu-a's own status")
    assert not [t for t, _ in twin_view if t.startswith("vicoop/v1/rsu/rsu-b/")]


async def test_only_the_twin_publishes_commands_and_receipts(
    peers: dict[str, Peer], broker: Broker
) -> None:
    """Attack: an RSU sends a zone command at version 2^63-1 to itself or another RSU, or a
    receipt that deletes another RSU's pending events (before: accepted from any client)."""
    rsu_a, rsu_b = peers["rsu.rsu-a"], peers["rsu.rsu-b"]
    for topic in (
        "vicoop/v1/rsu/rsu-b/commands",
        "vicoop/v1/rsu/rsu-a/commands",
        "vicoop/v1/rsu/rsu-b/receipts",
        "vicoop/v1/rsu/rsu-a/receipts",
    ):
        assert rsu_a.publish(topic, b"forged") == NOT_AUTHORIZED, topic
    # rsu-a listening on rsu-b's commands gets nothing; rsu-b gets what the twin sends it.
    got: dict[str, list[bytes]] = {"rsu-a": [], "rsu-b": []}
    for name, peer in (("rsu-a", rsu_a), ("rsu-b", rsu_b)):
        peer.client.on_message = lambda c, u, m, name=name: got[name].append(m.payload)
        peer.client.subscribe("vicoop/v1/rsu/rsu-b/commands", qos=1)
    twin = peers["twin"]
    await until(
        lambda: (
            twin.publish("vicoop/v1/rsu/rsu-b/commands", b"real") in ACCEPTED and bool(got["rsu-b"])
        ),
        "rsu-b's command",
    )
    assert got["rsu-a"] == []


async def test_a_client_cannot_take_over_another_rsus_client_id(
    peers: dict[str, Peer], broker: Broker
) -> None:
    """Attack: rsu-b connects with rsu-a's client id to push rsu-a off the broker and take its
    session (before: the broker ends the older connection with that id)."""
    rsu_a = Peer(broker, "rsu.rsu-a", client_id="vicoop-rsu-rsu-a")
    try:
        intruder = Peer(broker, "rsu.rsu-b", client_id="vicoop-rsu-rsu-a")
        intruder.close()
        assert rsu_a.publish("vicoop/v1/rsu/rsu-a/status", b"still here") in ACCEPTED
        assert not rsu_a.disconnected.is_set()
    finally:
        rsu_a.close()


async def test_the_rsu_and_the_twin_work_over_tls_with_their_certificates(
    broker: Broker, tmp_path: Path
) -> None:
    url = f"mqtts://127.0.0.1:{broker.tls_port}"
    pki = broker.pki

    def auth(identity: str) -> MqttAuthConfig:
        return MqttAuthConfig(
            ca_file=pki / "ca.pem",
            cert_file=pki / f"{identity}.pem",
            key_file=pki / f"{identity}.key",
        )

    cloud = CloudConfig(
        dev=True,  # API tokens and the command key made at start: this test is about MQTT
        mqtt_url=url,
        mqtt_auth=auth("twin"),
        db_url=f"sqlite:///{tmp_path / 'twin.sqlite3'}",
        http_port=0,
    )
    rsu = RsuConfig.model_validate(
        {
            "rsu_id": "rsu-a",
            "server": {"port": 0, "grace_period_s": 0.2},
            "metrics": {"enabled": False},
            "cloud": {
                "enabled": True,
                "mqtt_url": url,
                "mqtt_auth": auth("rsu.rsu-a").model_dump(),
                "outbox_path": str(tmp_path / "outbox.sqlite3"),
                "status_interval_s": 0.3,
            },
        }
    )
    async with CloudService(cloud) as service, RoadsideDaemon(rsu):
        await until(lambda: "rsu-a" in service.twin.rsus, "rsu-a's status at the twin")
        assert service.ingest is not None
        assert service.ingest.session.stats.connected


async def test_twin_workers_of_a_shared_group_get_the_rsus_outbox(
    peers: dict[str, Peer], broker: Broker
) -> None:
    """The ACL lets the twin's shared subscription (``shared_group``) through."""
    got: list[bytes] = []
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.tls_port,
        identifier="twin-worker",
        tls_context=client_context(broker.pki, "twin"),
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as twin:
        await twin.subscribe("$share/workers/vicoop/v1/rsu/+/outbox", qos=1)

        async def receive() -> None:
            async for message in twin.messages:
                assert isinstance(message.payload, bytes)
                got.append(message.payload)

        task = asyncio.create_task(receive())
        try:
            await until(
                lambda: (
                    peers["rsu.rsu-a"].publish("vicoop/v1/rsu/rsu-a/outbox", b"event") in ACCEPTED
                    and bool(got)
                ),
                "rsu-a's outbox at the shared group",
            )
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert got[0] == b"event"
