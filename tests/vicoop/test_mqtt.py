"""The kernel's MQTT contract: topics round-trip and bad ones are rejected saying why, broker URLs
parse, the backoff policy's sequence, and one session reconnecting to a real broker that is
killed and comes back (subscriptions restored, rejections counted, never fatal)."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import uuid

import aiomqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import KillableBroker, until
from vicoop.backoff import Backoff
from vicoop.errors import CodecError
from vicoop.mqtt import (
    TOPIC_ROOT,
    MqttSession,
    MqttUrl,
    Topic,
    TopicKind,
    parse_mqtt_url,
    topic_filter,
)

rsu_ids = st.text(min_size=1, max_size=80).filter(lambda s: not set(s) & set("/+#\0"))


@given(rsu_id=rsu_ids, kind=st.sampled_from(TopicKind))
def test_a_topic_round_trips(rsu_id: str, kind: TopicKind) -> None:
    topic = Topic(rsu_id, kind)
    assert str(topic) == topic.format() == f"vicoop/v1/rsu/{rsu_id}/{kind.value}"
    assert Topic.parse(str(topic)) == topic


@given(text=st.text(max_size=100))
def test_any_string_parses_or_is_rejected_as_a_codec_error(text: str) -> None:
    try:
        topic = Topic.parse(text)
    except CodecError:
        return
    assert str(topic) == text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("vicoop/v2/rsu/rsu-a/status", "is not under vicoop/v1/rsu/"),
        ("vicoop/v1/rsu", "is not under vicoop/v1/rsu/"),
        ("vicoop/v1/rsu//status", "the RSU id is empty"),
        ("vicoop/v1/rsu/a+b/status", "the RSU id contains '+'"),
        ("vicoop/v1/rsu/rsu-a/gossip", "'gossip' is not a topic kind (one of status, perception"),
        ("vicoop/v1/rsu/rsu-a", "'' is not a topic kind"),
        ("vicoop/v1/rsu/rsu-a/status/more", "'status/more' is not a topic kind"),
    ],
)
def test_a_bad_topic_is_rejected_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(CodecError, match=r"^topic ") as caught:
        Topic.parse(text)
    assert says in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("rsu_id", ["", "a/b", "#", "a+"])
def test_a_topic_cannot_hold_an_rsu_id_that_is_not_one_level(rsu_id: str) -> None:
    with pytest.raises(ValueError, match="an RSU id in a topic"):
        Topic(rsu_id, TopicKind.STATUS)


def test_topic_filters() -> None:
    assert topic_filter() == f"{TOPIC_ROOT}/+/+"
    assert topic_filter(kind=TopicKind.PERCEPTION) == f"{TOPIC_ROOT}/+/perception"
    assert topic_filter("rsu-a") == f"{TOPIC_ROOT}/rsu-a/+"
    assert topic_filter(shared_group="twins") == f"$share/twins/{TOPIC_ROOT}/+/+"
    with pytest.raises(ValueError, match="a shared subscription group in a topic filter"):
        topic_filter(shared_group="a/b")


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("mqtt://127.0.0.1:1884", MqttUrl("127.0.0.1", 1884)),
        ("mqtt://broker.example", MqttUrl("broker.example", 1883)),
        ("mqtt://broker:1883/", MqttUrl("broker", 1883)),
        ("mqtts://broker.example", MqttUrl("broker.example", 8883, tls=True)),
        ("mqtts://rsu-a@broker:8884", MqttUrl("broker", 8884, tls=True, username="rsu-a")),
        ("mqtt://twin@broker", MqttUrl("broker", 1883, username="twin")),
    ],
)
def test_mqtt_urls_parse(url: str, parsed: MqttUrl) -> None:
    assert parse_mqtt_url(url) == parsed
    assert parse_mqtt_url(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://broker:1883", "scheme 'http'"),
        ("broker:1883", "scheme 'broker'"),
        ("mqtt://:1883", "no host"),
        ("mqtt://broker:port", "bad port"),
    ],
)
def test_a_bad_mqtt_url_is_rejected_saying_why(url: str, says: str) -> None:
    with pytest.raises(ValueError, match="not an mqtt://host:port URL") as caught:
        parse_mqtt_url(url)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "url", ["mqtts://rsu-a:s3cret-pw@broker:8883", "mqtt://rsu-a:s3cret-pw@broker:port"]
)
def test_a_password_in_the_url_is_refused_and_never_repeated(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_mqtt_url(url)
    assert "s3cret-pw" not in str(caught.value)
    assert "password_file" in str(caught.value) and "rsu-a:***@broker" in str(caught.value)


def test_the_backoff_doubles_up_to_its_maximum() -> None:
    delays = Backoff(initial_s=0.1, factor=2.0, max_s=2.0, jitter=0.0).delays(random.Random(1))
    assert [round(next(delays), 9) for _ in range(8)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]


def test_the_backoffs_jitter_stays_within_its_fraction() -> None:
    plain = Backoff(jitter=0.0).delays(random.Random(1))
    jittered = Backoff(jitter=0.2).delays(random.Random(1))
    pairs = [(next(plain), next(jittered)) for _ in range(200)]
    assert all(0.8 * p <= j <= 1.2 * p for p, j in pairs)
    assert len({round(j / p, 6) for p, j in pairs}) > 100  # randomised, not a fixed factor


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_s": 0.0}, {"initial_s": 3.0, "max_s": 2.0}, {"factor": 0.5}, {"jitter": 1.0}],
)
def test_a_backoff_that_makes_no_sense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)


def test_the_base_install_does_not_import_the_mqtt_session() -> None:
    """The vehicle library, the gRPC service, the codecs and the command line work without
    aiomqtt: none of them imports ``vicoop.mqtt`` when imported."""
    code = (
        "import sys, vehicle, vehicle.testing, vicoop.serving, vicoop.codec, console.cli; "
        "print(sorted(m for m in ('vicoop.mqtt', 'aiomqtt') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class Received:
    """What the session under test handed over; fails on a ``boom`` payload (a stand-in bug)."""

    def __init__(self) -> None:
        self.messages: list[tuple[Topic, bytes]] = []

    async def __call__(self, topic: Topic, payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("a bug in the handler")
        self.messages.append((topic, payload))


async def _publish(url: str, topic: str, payload: bytes) -> None:
    broker = parse_mqtt_url(url)
    async with aiomqtt.Client(broker.host, broker.port, identifier=uuid.uuid4().hex) as client:
        await client.publish(topic, payload, qos=1)


def _no_delay(session: MqttSession) -> bool:
    client = session._client
    assert client is not None
    sock = client._client.socket()
    assert isinstance(sock, socket.socket)
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


async def test_the_session_reconnects_after_the_broker_comes_back(
    killable_broker: KillableBroker,
) -> None:
    broker = killable_broker
    received = Received()
    session = MqttSession(
        parse_mqtt_url(broker.url),
        f"session-{uuid.uuid4().hex[:8]}",
        subscribe=[topic_filter()],
        on_message=received,
        backoff=Backoff(initial_s=0.05, max_s=0.2),
    )
    status = Topic("rsu-a", TopicKind.STATUS)
    await session.start()
    try:
        await until(session.connected.is_set, "the session connected")
        await _publish(broker.url, str(status), b"first")
        await until(lambda: len(received.messages) == 1, "the first message handed over")
        # Small QoS 1 messages one after another: no Nagle delay (it held each ~40 ms).
        assert _no_delay(session), "Nagle's algorithm on the connection"

        # Rejections and a failing handler are counted, and the session keeps going.
        await _publish(broker.url, f"{TOPIC_ROOT}/rsu-a/gossip", b"?")
        await _publish(broker.url, str(status), b"boom")
        await until(lambda: session.stats.malformed == 1, "the unknown kind counted")
        await until(lambda: session.stats.handler_errors == 1, "the handler's bug counted")

        await broker.kill()
        await until(lambda: not session.connected.is_set(), "the session saw the broker go")
        with pytest.raises(aiomqtt.MqttError, match="not connected"):
            await session.publish(status, b"nowhere")
        await broker.start()
        await until(lambda: session.stats.connections == 2, "the session connected again")
        assert _no_delay(session), "Nagle's algorithm on the new connection"
        await session.publish(status, b"second", qos=1)  # subscribed again, too
        await until(lambda: len(received.messages) == 2, "a message after the reconnection")
    finally:
        await session.stop()
    assert received.messages == [(status, b"first"), (status, b"second")]
    assert session.stats.messages == 4
    assert not session.stats.connected


async def test_a_sender_that_raises_is_logged_alarmed_and_the_session_starts_again(
    killable_broker: KillableBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in the sender (here the ``ValueError`` an out-of-range field gives when encoded)
    used to end the session with no log line; now it is logged, counted, alarmed and the
    session connects again and goes on handing messages over."""
    broker = killable_broker
    received = Received()
    alarms: list[tuple[str, str]] = []
    runs = 0

    async def sender() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise ValueError("Value out of range: 18446744073709551616")
        await asyncio.Event().wait()

    session = MqttSession(
        parse_mqtt_url(broker.url),
        f"session-{uuid.uuid4().hex[:8]}",
        subscribe=[topic_filter()],
        on_message=received,
        while_connected=sender,
        backoff=Backoff(initial_s=0.05, max_s=0.2),
        on_task_failure=lambda name, exc: alarms.append((name, repr(exc))),
    )
    status = Topic("rsu-a", TopicKind.STATUS)
    await session.start()
    try:
        await until(lambda: runs == 2 and session.connected.is_set(), "the session again")
        await _publish(broker.url, str(status), b"boom")
        await _publish(broker.url, f"{TOPIC_ROOT}/rsu-a/gossip", b"?")
        await _publish(broker.url, str(status), b"after")
        await until(lambda: len(received.messages) == 1, "a message after the failure")
    finally:
        await session.stop()
    assert received.messages == [(status, b"after")]
    assert alarms == [("session", repr(ValueError("Value out of range: 18446744073709551616")))]
    stats = session.supervisor.stats["session"]
    assert (stats.failures, stats.restarts) == (1, 1)
    assert "ValueError" in stats.last_error
    assert session.stats.handler_errors_by_kind == {"status": 1}
    assert session.stats.malformed_by_kind == {"unknown": 1}
    assert any(r.exc_info and "task session failed" in r.getMessage() for r in caplog.records)


class StuckBroker:
    """Just enough of an MQTT broker to let a client connect and subscribe, then it stops
    reading: what the client sends after that (its DISCONNECT too) stays queued, as with a
    broker that hangs or dies while the client is stopping."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.connections = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                first = (await reader.readexactly(1))[0]
                length, shift = 0, 0
                while True:
                    byte = (await reader.readexactly(1))[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                body = await reader.readexactly(length)
                if first >> 4 == 1:  # CONNECT -> CONNACK accepted
                    writer.write(b"\x20\x02\x00\x00")
                elif first >> 4 == 8:  # SUBSCRIBE -> SUBACK granting QoS 0, then stuck
                    writer.write(b"\x90\x03" + body[:2] + b"\x00")
                    await writer.drain()
                    await asyncio.Event().wait()
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_stop_ends_the_session_when_the_brokers_connection_fails_as_it_disconnects() -> None:
    """aiomqtt turns a failure while disconnecting (here the DISCONNECT never gets out) into its
    own ``MqttError`` in place of the cancellation ``stop()`` sent; the session used to take that
    for a lost connection and reconnect for ever, and ``stop()`` never returned (a CI run hung
    300 s in the no-loss test on a broker SIGKILLed just before the RSU stopped)."""
    broker = StuckBroker()
    port = await broker.start()
    session = MqttSession(
        MqttUrl("127.0.0.1", port),
        f"session-{uuid.uuid4().hex[:8]}",
        subscribe=[topic_filter()],
        backoff=Backoff(initial_s=0.05, max_s=0.2),
        timeout_s=0.5,
    )
    await session.start()
    stop: asyncio.Future[None] | None = None
    try:
        await until(session.connected.is_set, "the session connected")
        # More than the socket buffers hold, so the DISCONNECT queues behind it.
        with pytest.raises(aiomqtt.MqttError, match="timed out"):
            for _ in range(48):
                await session.publish(Topic("rsu-a", TopicKind.STATUS), bytes(1 << 20))
        stop = asyncio.ensure_future(session.stop())
        await until(stop.done, "stop() returned", limit_s=30.0)
        assert not session.stats.connected
        assert broker.connections == 1  # it did not go on reconnecting
    finally:
        if stop is not None and not stop.done():
            stop.cancel()  # the session's task is left to the loop's end
        await broker.stop()
