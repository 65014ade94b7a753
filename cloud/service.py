"""The cloud service, wiring only: it builds the parts (broker, embedded or external; store;
twin; zones kept in line with the database; leadership; MQTT ingest; zone editor; live-feed
snapshots; control API and dashboard over HTTP) and starts and stops them together. ``vicoop cloud run`` and ``vicoop demo`` use it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Callable

import sqlalchemy.engine
import sqlalchemy.exc
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from cloud.alarms import Alarms
from cloud.api import create_app
from cloud.auth import FailureLimit, FeedTokens, Holder, Role, TokenBook, token_digest
from cloud.broker import EmbeddedBroker
from cloud.config import CloudConfig
from cloud.feed import Feed
from cloud.ingest import TwinIngest
from cloud.leader import Leadership
from cloud.metrics import TwinMetrics
from cloud.snapshots import Snapshots
from cloud.store import Store
from cloud.twin import Twin
from cloud.zone_edits import ZoneEditor
from cloud.zone_sync import ZoneSync
from cloud.zones import ZoneManager
from vicoop import logs
from vicoop.errors import ConfigError, StartupError
from vicoop.signing import CommandSigner, load_private_key
from vicoop.supervise import Supervisor

log = logging.getLogger(__name__)


class CloudService:
    """``start()``/``stop()`` (or ``async with``) the cloud's parts. Without tokens in the
    configuration, one token per role is generated (``generated_tokens``); ``url`` is the HTTP
    server's and ``mqtt_url`` the broker's, once started."""

    def __init__(
        self,
        config: CloudConfig,
        *,
        schema: str | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.clock = clock
        self.twin = Twin(offline_after_s=config.offline_after_s, limits=config.twin_limits())
        self.zones = ZoneManager(resend_after_s=config.command_resend_s)
        self.store = Store(config.db_url, schema=schema)
        self.feed = Feed()
        self.snapshots = Snapshots(
            self.twin, self.zones, self.feed, interval_s=config.feed_interval_s, clock=clock
        )
        holders = [(t.digest(), Holder(t.name, t.role)) for t in config.tokens]
        self.generated_tokens: dict[Role, str] = {}
        if not holders:
            if not config.dev:
                raise ConfigError(
                    "tokens: no API token is configured; give tokens (token_sha256 keeps "
                    "the file free of secrets), or run a development twin with --dev"
                )
            roles: tuple[Role, ...] = ("viewer", "operator", "admin")
            for role in roles:
                token = secrets.token_urlsafe(24)
                holders.append((token_digest(token), Holder(f"{role}-generated", role)))
                self.generated_tokens[role] = token
        self.tokens = TokenBook(holders)
        self.feed_tokens = FeedTokens(config.feed_token_ttl_s, _feed_key(config))
        self.signer = CommandSigner(_signing_key(config), config.command_key_id)
        self.auth_failures = FailureLimit(
            config.auth_failures_allowed, config.auth_failure_window_s
        )
        self.broker: EmbeddedBroker | None = None
        self.ingest: TwinIngest | None = None
        self.leadership: Leadership | None = None
        self.zone_sync: ZoneSync | None = None
        self.mqtt_url = config.mqtt_url or ""
        self.port: int | None = None
        # This worker's id: its MQTT client id, and the worker field of its JSON log lines.
        self.worker_id = f"vicoop-twin-{secrets.token_hex(4)}"
        self.alarms = Alarms(
            self.store, f"twin {self.worker_id}", notify=self.feed.publish, clock=clock
        )
        self.metrics: TwinMetrics | None = None
        # The service's own background tasks (the HTTP server, the live feed's snapshots):
        # a task that fails or ends is logged, counted, alarmed and started again.
        self.tasks = Supervisor(f"twin-{self.worker_id}", on_failure=self.alarms.task_failed)
        self._app: FastAPI | None = None
        self._socket: socket.socket | None = None  # bound at start; the HTTP task's first
        self._server: uvicorn.Server | None = None
        self._stopping = False
        self._http_stopped = asyncio.Event()

    @property
    def supervisors(self) -> tuple[Supervisor, ...]:
        """The supervisors of the twin's background tasks (their ``stats``: task failures and
        restarts, for metrics): the ingest session's, the zone sync's, the leadership's and the
        service's own (HTTP server, snapshots)."""
        ingest = () if self.ingest is None else (self.ingest.session.supervisor,)
        sync = () if self.zone_sync is None else (self.zone_sync.supervisor,)
        leader = () if self.leadership is None else (self.leadership.supervisor,)
        return ingest + sync + leader + (self.tasks,)

    @property
    def url(self) -> str:
        return f"http://{self.config.http_host}:{self.port}"

    async def start(self) -> None:
        """Start every part; when one cannot start (a ``StartupError`` naming it), stop what had
        started and raise."""
        async with contextlib.AsyncExitStack() as started:
            started.push_async_callback(self.stop)
            await self._start()
            started.pop_all()

    async def _start(self) -> None:
        logs.bind(worker=self.worker_id)  # on every line this worker's tasks log
        if self.config.mqtt_url is None:
            self.broker = EmbeddedBroker()
            await self.broker.start()
            self.mqtt_url = self.broker.url
        try:
            await asyncio.to_thread(self.store.migrate)
        except sqlalchemy.exc.DBAPIError as exc:
            url = sqlalchemy.engine.make_url(self.config.db_url).render_as_string()
            reason = " ".join(str(exc.orig).split())
            raise StartupError(f"cannot use the database {url}: {reason}") from None
        self.twin.remember(await asyncio.to_thread(self.store.outbox_keys, self.config.seen_window))
        leadership = Leadership(
            self.store.leader_lock(),
            retry_s=self.config.leader_retry_s,
            on_change=self._leadership_changed,
            owner=self.worker_id,
            on_failure=self.alarms.task_failed,
        )
        ingest = TwinIngest(
            self.twin,
            self.zones,
            self.store,
            self.mqtt_url,
            clock=self.clock,
            notify=self.feed.publish,
            shared_group=self.config.shared_group,
            client_id=self.worker_id,
            is_leader=lambda: leadership.leader,
            alarms=self.alarms,
            signer=self.signer,
            auth=self.config.mqtt_auth if self.config.mqtt_url is not None else None,
        )
        sync = ZoneSync(
            self.zones,
            self.twin,
            self.store,
            self.feed,
            interval_s=self.config.zone_sync_s,
            kick=ingest.kick,
            clock=self.clock,
            owner=self.worker_id,
            on_failure=self.alarms.task_failed,
        )
        ingest.on_unseen = sync.wake
        editor = ZoneEditor(self.zones, sync, self.store, self.feed, clock=self.clock)
        self.zone_sync = sync
        await sync.start()
        self.leadership = leadership
        await leadership.start()
        self.ingest = ingest
        await ingest.start()
        if self.config.metrics_enabled:
            self.metrics = TwinMetrics(
                self.twin,
                self.zones,
                ingest,
                self.feed,
                self.snapshots,
                leadership,
                alarms=self.alarms,
            )
        app = create_app(
            tokens=self.tokens,
            feed_tokens=self.feed_tokens,
            failures=self.auth_failures,
            max_body_bytes=self.config.max_body_bytes,
            signer=self.signer,
            twin=self.twin,
            zone_manager=self.zones,
            editor=editor,
            store=self.store,
            live_feed=self.feed,
            snapshots=self.snapshots,
            ingest=ingest,
            leadership=leadership,
            clock=self.clock,
            prometheus=self.metrics,
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.http_host, self.config.http_port))
        except OSError as exc:
            sock.close()
            raise StartupError(
                f"the control API cannot listen on {self.config.http_host}:"
                f"{self.config.http_port}: {exc.strerror or exc}"
            ) from None
        self.port = int(sock.getsockname()[1])
        self._app, self._socket = app, sock
        self.tasks.spawn("http", self._serve_http)
        self.tasks.spawn("snapshots", self.snapshots.run)
        while self._server is None or not self._server.started:
            if self.tasks.stats["http"].failures:
                raise StartupError(
                    f"the control API did not start: {self.tasks.stats['http'].last_error}"
                )
            await asyncio.sleep(0.01)
        log.info(
            "cloud twin on %s (MQTT %s, store %s)", self.url, self.mqtt_url, self.store.dialect
        )

    async def _serve_http(self) -> None:
        """The control API and dashboard until ``stop()``. The first run serves on the socket
        bound at start; a restart (the server ended while it was meant to run) binds the same
        port again."""
        sock, self._socket = self._socket, None
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.config.http_host, self.port or 0))
        assert self._app is not None, "the app is built before the HTTP task starts"
        server = uvicorn.Server(
            uvicorn.Config(self._app, log_level="warning", lifespan="off", access_log=False)
        )
        self._server = server
        try:
            await server.serve(sockets=[sock])
        finally:
            sock.close()
        if self._stopping:
            self._http_stopped.set()
            await asyncio.Future()  # stopped on purpose: stop() cancels this task

    async def stop(self) -> None:
        self._stopping = True
        if self._server is not None and self._server.started:
            self._server.should_exit = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10.0):
                    await self._http_stopped.wait()
        await self.tasks.stop()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self.ingest is not None:
            await self.ingest.stop()
        if self.leadership is not None:
            await self.leadership.stop()
        if self.zone_sync is not None:
            await self.zone_sync.stop()
        if self.broker is not None:
            await self.broker.stop()
        await self.alarms.drain()
        self.store.close()

    def _leadership_changed(self, leader: bool) -> None:
        """Say so on the live feed; a new leader sends what is pending at once."""
        self.feed.publish("leader", {"worker": self.worker_id, "leader": leader})
        if leader and self.ingest is not None:
            self.ingest.kick()

    async def __aenter__(self) -> CloudService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _feed_key(config: CloudConfig) -> bytes | None:
    """The feed-token signing key from ``feed_token_key_file``, None when unset."""
    path = config.feed_token_key_file
    if path is None:
        return None
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"feed_token_key_file: cannot read {path}: {exc.strerror}") from None
    if len(key) < 32:
        raise ConfigError(f"feed_token_key_file: {path} holds {len(key)} bytes; at least 32")
    return key


def _signing_key(config: CloudConfig) -> Ed25519PrivateKey:
    """The command signing key from its file; a development twin without one makes one."""
    path = config.command_signing_key_file
    if path is not None:
        return load_private_key(path, "command_signing_key_file")
    if not config.dev:
        raise ConfigError(
            "command_signing_key_file: the twin signs every command to the RSUs and needs its "
            "key (vicoop cloud command-key makes a pair), or run a development twin with --dev"
        )
    log.warning("development twin: commands are signed with a key made at start")
    return Ed25519PrivateKey.generate()
