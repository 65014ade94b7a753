"""The MQTT contract between the RSUs and the cloud twin, and the one reconnecting MQTT session
both sides use.

Topics are ``vicoop/v1/rsu/{rsu_id}/{kind}`` (see ``cloud.proto`` for each kind's payload):

======================  =========  ================================================
kind                    direction  payload
======================  =========  ================================================
``status``              RSU->twin  ``RsuStatus``, retained; the last will says OFFLINE
``perception``          RSU->twin  ``PerceptionSummary``
``signal``              RSU->twin  ``SignalState``, retained
``spat``                RSU->twin  ``RsuSpat`` (at every change, and every second)
``map``                 RSU->twin  ``RsuMap``, retained
``vehicles``            RSU->twin  ``VehicleReportBatch``
``outbox``              RSU->twin  ``OutboxMessage`` (events and command acknowledgements)
``commands``            twin->RSU  ``Command``
``receipts``            twin->RSU  ``Receipt`` (outbox sequence numbers stored by the twin)
======================  =========  ================================================

``Topic`` is that scheme as a type (``str(topic)`` / ``Topic.parse``); ``MqttUrl`` is a broker
address (``mqtt://`` or, over TLS, ``mqtts://``); ``MqttAuthConfig`` is the typed configuration of
a client's identity at the broker (CA, client certificate, user name, password file) and
``MqttCredentials`` what it yields; ``Backoff`` is the reconnection policy; ``MqttSession`` is a
connection that subscribes, hands every message to one handler (rejections counted, never
fatal) and reconnects by itself.

A secured broker (``deploy/mosquitto``) knows each client by its certificate's CN
(``use_identity_as_username``): an RSU's is its rsu_id, the twin's ``vicoop-twin``
(``vicoop.certs``), and its ACL lets an RSU publish only under its own id. Passwords are read
from a file and never appear in a message, a log line or a ``repr``.

This module imports aiomqtt (the ``roadside`` and ``cloud`` extras): nothing in the base install
imports it.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import random
import socket
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
from pydantic import Field, model_validator

from vicoop.backoff import Backoff
from vicoop.config import StrictModel
from vicoop.errors import CodecError, ConfigError
from vicoop.supervise import Supervisor

__all__ = [
    "TOPIC_ROOT",
    "Backoff",
    "MqttAuthConfig",
    "MqttCredentials",
    "MqttSession",
    "MqttUrl",
    "SessionStats",
    "Topic",
    "TopicKind",
    "mqtt_credentials",
    "parse_mqtt_url",
    "topic_filter",
]

log = logging.getLogger(__name__)

TOPIC_ROOT = "vicoop/v1/rsu"
_NOT_IN_A_LEVEL = frozenset("/+#\0")


class TopicKind(enum.StrEnum):
    """The last level of a topic: what the payload is (see the module's table)."""

    STATUS = "status"
    PERCEPTION = "perception"
    SIGNAL = "signal"
    SPAT = "spat"
    MAP = "map"
    VEHICLES = "vehicles"
    OUTBOX = "outbox"
    COMMANDS = "commands"
    RECEIPTS = "receipts"


_KINDS = {k.value: k for k in TopicKind}


def _level_problem(value: str) -> str | None:
    if value and _NOT_IN_A_LEVEL.isdisjoint(value):
        return None
    if not value:
        return "is empty"
    bad = sorted(_NOT_IN_A_LEVEL.intersection(value))
    if bad:
        return f"contains {', '.join(repr(c) for c in bad)}"
    return None


@dataclass(frozen=True, slots=True)
class Topic:
    """``vicoop/v1/rsu/{rsu_id}/{kind}``: one RSU's topic of one kind.

    ``rsu_id`` is one topic level: not empty, no ``/``, ``+``, ``#`` or NUL (``ValueError``).
    """

    rsu_id: str
    kind: TopicKind

    def __post_init__(self) -> None:
        problem = _level_problem(self.rsu_id)
        if problem:
            raise ValueError(f"an RSU id in a topic {problem}: {self.rsu_id!r}")

    def format(self) -> str:
        return f"{TOPIC_ROOT}/{self.rsu_id}/{self.kind.value}"

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def parse(cls, text: str) -> Topic:
        """The topic ``text`` names; ``CodecError`` saying what is wrong when it is not one."""
        prefix = f"{TOPIC_ROOT}/"
        if not text.startswith(prefix):
            raise CodecError(f"topic {text!r} is not under {prefix}")
        rsu_id, _, kind = text.removeprefix(prefix).partition("/")
        problem = _level_problem(rsu_id)
        if problem:
            raise CodecError(f"topic {text!r}: the RSU id {problem}")
        found = _KINDS.get(kind)
        if found is None:
            raise CodecError(
                f"topic {text!r}: {kind!r} is not a topic kind (one of {', '.join(_KINDS)})"
            )
        return cls(rsu_id, found)


def topic_filter(
    rsu_id: str | None = None,
    kind: TopicKind | None = None,
    *,
    shared_group: str | None = None,
) -> str:
    """A subscription filter: ``rsu_id`` / ``kind`` None match any (``+``). With
    ``shared_group``, an MQTT 5 shared subscription (``$share/GROUP/...``): the broker gives
    each message to one subscriber of the group."""
    for what, level in (("an RSU id", rsu_id), ("a shared subscription group", shared_group)):
        problem = None if level is None else _level_problem(level)
        if problem:
            raise ValueError(f"{what} in a topic filter {problem}: {level!r}")
    filter_ = f"{TOPIC_ROOT}/{rsu_id or '+'}/{'+' if kind is None else kind.value}"
    return filter_ if shared_group is None else f"$share/{shared_group}/{filter_}"


@dataclass(frozen=True, slots=True)
class MqttUrl:
    """A broker's address: ``mqtt://[user@]host:port``, or ``mqtts://`` for TLS."""

    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def _redacted(url: str) -> str:
    """``url`` with any password in it replaced by ``***`` (for error messages)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostport = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.partition(':')[0]}:***@{hostport}"


def parse_mqtt_url(url: str) -> MqttUrl:
    """``mqtt://[user@]host[:port]`` (port 1883) or ``mqtts://[user@]host[:port]`` (TLS, port
    8883); ``ValueError`` saying what is wrong. A password in the URL (``user:pass@``) is
    refused: it would show in process lists, logs and error messages; it goes in a password
    file (``password_file``). No message repeats a password."""
    shown = _redacted(url)
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(
            f"not an mqtt://host:port URL (nor mqtts:// for TLS; scheme {parts.scheme!r}): "
            f"{shown!r}"
        )
    if parts.password is not None:
        raise ValueError(
            f"{shown!r}: a password in the URL is refused (it shows in logs and process "
            "lists); put it in a file and name the file in password_file"
        )
    if not parts.hostname:
        raise ValueError(f"not an {parts.scheme}://host:port URL (no host): {shown!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"an MQTT URL has no path or query: {shown!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"not an {parts.scheme}://host:port URL (bad port): {shown!r}") from None
    tls = parts.scheme == "mqtts"
    return MqttUrl(parts.hostname, port or (8883 if tls else 1883), tls, parts.username or None)


class MqttAuthConfig(StrictModel):
    """A client's identity at the broker and its trust in the broker (``mqtt_auth`` of the RSU's
    ``cloud`` section and of the cloud's file). With an ``mqtts://`` URL: ``ca_file`` (None:
    the system's roots) and, for brokers that require one, ``cert_file`` and ``key_file`` (the
    broker takes the certificate's CN as the user name). ``username`` (or ``user@`` in the
    URL) and ``password_file`` for brokers with passwords."""

    # PEM CA certificate(s) the broker's certificate must be signed by (mqtts:// only).
    ca_file: Path | None = None
    # PEM client certificate and its key (mode 0600), made by `vicoop certs rsu|twin`.
    cert_file: Path | None = None
    key_file: Path | None = None
    # User name at the broker (or user@ in the URL; not both).
    username: str | None = Field(None, min_length=1, max_length=128)
    # File whose first line is the password (keep it mode 0600); never in the URL.
    password_file: Path | None = None

    @model_validator(mode="after")
    def _usable(self) -> MqttAuthConfig:
        try:
            _tls_context(self)
            _password(self)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


@dataclass(frozen=True, slots=True)
class MqttCredentials:
    """What a session presents to the broker: a user name, a password (never in ``repr``),
    a TLS context (with the client certificate, when configured; None: plain TCP)."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: ssl.SSLContext | None = field(default=None, repr=False)


def _tls_context(auth: MqttAuthConfig) -> ssl.SSLContext:
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(auth, name)
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{name} {path}: cannot read the file (no such file)")
    try:
        context = ssl.create_default_context(cafile=auth.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"ca_file {auth.ca_file}: not a valid PEM certificate ({exc})") from None
    if (auth.cert_file is None) != (auth.key_file is None):
        raise ConfigError("cert_file and key_file go together (a certificate and its key)")
    if auth.cert_file is not None:
        try:
            context.load_cert_chain(auth.cert_file, auth.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cert_file {auth.cert_file} / key_file {auth.key_file}: not a PEM certificate "
                f"and its key ({getattr(exc, 'reason', None) or exc.strerror})"
            ) from None
    return context


def _password(auth: MqttAuthConfig) -> str | None:
    if auth.password_file is None:
        return None
    try:
        with open(auth.password_file, "rb") as f:
            first = f.read(4097).splitlines()
    except OSError as exc:
        raise ConfigError(
            f"password_file {auth.password_file}: cannot read the file: {exc.strerror}"
        ) from None
    try:
        password = first[0].decode("utf-8") if first else ""
    except UnicodeDecodeError:
        raise ConfigError(f"password_file {auth.password_file}: not UTF-8 text") from None
    if not password or len(password) > 4096:
        raise ConfigError(
            f"password_file {auth.password_file}: the first line must be the password "
            "(1 to 4096 characters)"
        )
    return password


def mqtt_credentials(url: MqttUrl, auth: MqttAuthConfig | None) -> MqttCredentials:
    """What a session at ``url`` presents, from ``auth`` (None: nothing but the URL's user);
    ``ConfigError`` naming the field when they do not fit together (a certificate over plain
    TCP, two user names, a password without a user)."""
    auth = auth or MqttAuthConfig()
    tls_fields = [n for n in ("ca_file", "cert_file", "key_file") if getattr(auth, n)]
    if tls_fields and not url.tls:
        raise ConfigError(
            f"{', '.join(tls_fields)}: TLS files for a plain mqtt:// broker (use mqtts://)"
        )
    if url.username and auth.username and url.username != auth.username:
        raise ConfigError(
            f"username: {auth.username!r} and the URL's user {url.username!r} differ (give one)"
        )
    username = auth.username or url.username
    password = _password(auth)
    if password is not None and username is None:
        raise ConfigError("password_file: a password needs a username (or user@ in the URL)")
    return MqttCredentials(username, password, _tls_context(auth) if url.tls else None)


def check_mqtt_settings(url: str | None, auth: MqttAuthConfig) -> None:
    """``ValueError`` (for a configuration validator) when ``url`` is not a broker URL or does
    not fit ``auth``; None (an embedded broker) fits no TLS file or password."""
    if url is None:
        if auth != MqttAuthConfig():
            raise ValueError("mqtt_auth is set, but there is no mqtt_url (embedded broker)")
        return
    try:
        mqtt_credentials(parse_mqtt_url(url), auth)
    except ConfigError as exc:
        raise ValueError(f"mqtt_auth: {exc}") from None


@dataclass(slots=True)
class SessionStats:
    """What a session has seen so far. ``malformed``: messages rejected as not what their topic
    says (``CodecError``); ``handler_errors``: messages whose handler failed with a bug. The
    ``*_by_kind`` counters split both by topic kind (``"unknown"`` for a topic that is not one
    of ours)."""

    connected: bool = False
    connections: int = 0
    messages: int = 0
    malformed: int = 0
    handler_errors: int = 0
    malformed_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    handler_errors_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)


Handler = Callable[[Topic, bytes], Awaitable[None]]


class MqttSession:
    """One MQTT connection to ``url`` that comes back by itself; ``start()``/``stop()`` own it.

    Each time it connects it subscribes to ``subscribe`` (filters, at ``qos``), then runs two
    tasks until the connection ends: the receive loop, which hands every message to
    ``on_message`` (a payload that is not bytes, a topic that is not a ``Topic`` or a
    ``CodecError`` from the handler is counted as malformed; any other exception is logged and
    counted, never the end of the session), and ``while_connected`` if given (a sender loop;
    it publishes with ``publish``). Then it waits as ``backoff`` says and connects again.

    The session runs under its own ``supervisor`` (``vicoop.supervise``): a bug that ends the
    session (a sender that raises anything but ``aiomqtt.MqttError``) is logged with its
    traceback, counted in ``supervisor.stats``, reported to ``on_task_failure(name, exc)`` (the
    owner's alarm) and the session starts again; it never ends in silence.

    ``will`` is the last will the broker publishes when the connection drops uncleanly;
    ``mqtt5`` selects MQTT 5 (needed for shared subscriptions), else 3.1.1; ``keepalive_s``
    and ``timeout_s`` (each network operation) are seconds; ``max_queued_incoming`` bounds the
    messages received and not handled yet (0: unbounded). ``credentials`` (from
    ``mqtt_credentials``): the user name, password and TLS context presented to the broker
    (default: the URL's user, plain TCP).
    """

    def __init__(
        self,
        url: MqttUrl,
        client_id: str,
        *,
        subscribe: Sequence[str] = (),
        qos: int = 1,
        on_message: Handler | None = None,
        while_connected: Callable[[], Coroutine[object, object, None]] | None = None,
        will: aiomqtt.Will | None = None,
        clean_session: bool | None = None,
        mqtt5: bool = False,
        keepalive_s: int = 10,
        timeout_s: float = 5.0,
        max_queued_incoming: int = 0,
        backoff: Backoff = Backoff(),
        rng: random.Random | None = None,
        on_task_failure: Callable[[str, BaseException | None], None] | None = None,
        credentials: MqttCredentials | None = None,
    ) -> None:
        self.url = url
        self.credentials = credentials or MqttCredentials(username=url.username)
        self.client_id = client_id
        self.subscribe = tuple(subscribe)
        self.qos = qos
        self.backoff = backoff
        self.stats = SessionStats()
        self.connected = asyncio.Event()
        self._on_message = on_message
        self._while_connected = while_connected
        self._will = will
        self._clean_session = clean_session
        self._mqtt5 = mqtt5
        self._keepalive_s = keepalive_s
        self._timeout_s = timeout_s
        self._max_queued_incoming = max_queued_incoming
        self._rng = rng or random.Random()
        self._client: aiomqtt.Client | None = None
        self._stopping = False
        self.supervisor = Supervisor(f"mqtt-{client_id}", on_failure=on_task_failure)

    async def start(self) -> None:
        self._stopping = False
        self.supervisor.spawn("session", self.run)

    async def stop(self) -> None:
        """End the session (the broker then publishes no will: this is a clean disconnect)."""
        self._stopping = True
        await self.supervisor.stop()

    async def publish(
        self, topic: Topic, payload: bytes, *, qos: int = 0, retain: bool = False
    ) -> None:
        """Publish on the current connection (waits for the broker's PUBACK at ``qos`` 1);
        ``aiomqtt.MqttError`` when not connected or the connection fails."""
        client = self._client
        if client is None:
            raise aiomqtt.MqttError(f"{self.client_id} is not connected to {self.url}")
        await client.publish(str(topic), payload, qos=qos, retain=retain)

    async def run(self) -> None:
        """Connect, serve and reconnect until cancelled (``start()`` runs it supervised); raises
        only for a bug (never for the broker's or the network's failures)."""
        delays = self.backoff.delays(self._rng)
        while True:
            try:
                async with aiomqtt.Client(
                    self.url.host,
                    self.url.port,
                    identifier=self.client_id,
                    username=self.credentials.username,
                    password=self.credentials.password,
                    tls_context=self.credentials.tls,
                    will=self._will,
                    protocol=aiomqtt.ProtocolVersion.V5 if self._mqtt5 else None,
                    clean_session=self._clean_session,
                    keepalive=self._keepalive_s,
                    timeout=self._timeout_s,
                    max_queued_incoming_messages=self._max_queued_incoming,
                ) as client:
                    _no_delay(client)
                    for filter_ in self.subscribe:
                        await client.subscribe(filter_, qos=self.qos)
                    self._client = client
                    self.stats.connected = True
                    self.stats.connections += 1
                    self.connected.set()
                    delays = self.backoff.delays(self._rng)
                    log.info("%s connected to %s", self.client_id, self.url)
                    await self._serve(client)
            except aiomqtt.MqttError as error:
                if self._stopping:
                    # stop() cancelled us and aiomqtt's exit raised its own error over it (the
                    # connection failed as it disconnected): the stop stands, no reconnection.
                    # (Not ``Task.cancelling()``: 3.11's TaskGroup leaves it raised after a
                    # child's failure.)
                    raise asyncio.CancelledError from error
                log.warning("%s lost %s: %s", self.client_id, self.url, error)
            finally:
                self._client = None
                self.stats.connected = False
                self.connected.clear()
            await asyncio.sleep(next(delays))

    async def _serve(self, client: aiomqtt.Client) -> None:
        """The receive loop and the sender until one ends; the first failure is raised as
        itself (``aiomqtt.MqttError``: reconnect; anything else: a bug for the supervisor)."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._receive(client))
                if self._while_connected is not None:
                    group.create_task(self._while_connected())
        except BaseExceptionGroup as errors:
            first = errors.exceptions[0]
            for other in errors.exceptions[1:]:
                log.error("%s: a second failure", self.client_id, exc_info=other)
            raise first from None

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self.stats.messages += 1
            kind = "unknown"
            try:
                payload = message.payload
                if not isinstance(payload, bytes | bytearray):
                    raise CodecError(f"a {type(payload).__name__} payload, not bytes")
                topic = Topic.parse(message.topic.value)
                kind = topic.kind.value
                if self._on_message is not None:
                    await self._on_message(topic, bytes(payload))
            except CodecError as exc:
                self.stats.malformed += 1
                self.stats.malformed_by_kind[kind] += 1
                log.warning(
                    "%s rejected a message on %s: %s", self.client_id, message.topic.value, exc
                )
            except (aiomqtt.MqttError, asyncio.CancelledError):
                raise  # the connection's end: reconnect (or stop)
            except Exception:  # a bug handling one message must not end the session
                self.stats.handler_errors += 1
                self.stats.handler_errors_by_kind[kind] += 1
                log.exception(
                    "%s: handling a message on %s failed", self.client_id, message.topic.value
                )


def _no_delay(client: aiomqtt.Client) -> None:
    """TCP_NODELAY on the connection: MQTT messages are small, and with Nagle's algorithm each
    QoS 1 publish after another waits ~40 ms for the broker's delayed ACK (the twin drained
    outboxes at 23 messages/s)."""
    sock = client._client.socket()  # aiomqtt exposes no socket option of its own
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
