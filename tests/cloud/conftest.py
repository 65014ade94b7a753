"""Real components for the cloud tests: MQTT brokers, the database, a waiting helper.

``MQTT_URL`` / ``DATABASE_URL`` (set by ``.ci/run``) select Mosquitto and PostgreSQL; without
them the tests run on the embedded amqtt broker and SQLite. Tests that stop and restart a broker
start their own (a ``mosquitto`` process on a free port when installed), never the system one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from cloud.broker import EmbeddedBroker, free_port
from cloud.store import Store


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
    """A broker of this test's own on a fixed free port: ``kill()`` (SIGKILL for Mosquitto) and
    ``start()`` again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
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


@pytest.fixture
async def mqtt_url() -> AsyncIterator[str]:
    """The machine's broker when ``MQTT_URL`` is set, else an embedded one for this test."""
    url = os.environ.get("MQTT_URL")
    if url:
        yield url
        return
    async with EmbeddedBroker() as broker:
        yield broker.url


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(SQLAlchemy URL, schema): a fresh PostgreSQL schema when ``DATABASE_URL`` is set, else a
    new SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        schema = f"test_{uuid.uuid4().hex[:12]}"
        yield url, schema
        cleanup = Store(url, schema=schema)
        cleanup.drop_schema()
        cleanup.close()
    else:
        yield f"sqlite:///{tmp_path / 'twin.sqlite3'}", None


@pytest.fixture
def store(db_url: tuple[str, str | None]) -> Iterator[Store]:
    s = Store(db_url[0], schema=db_url[1])
    s.migrate()
    yield s
    s.close()
