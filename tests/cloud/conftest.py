"""Real components for the cloud tests: the MQTT broker and the database.

``MQTT_URL`` / ``DATABASE_URL`` (set by ``.ci/run``) select Mosquitto and PostgreSQL; without
them the tests run on the embedded amqtt broker and SQLite. Tests that stop and restart a broker
use ``killable_broker`` (tests/conftest.py), never the system one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from cloud.broker import EmbeddedBroker
from cloud.store import Store
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url


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
async def rsu_id(mqtt_url: str) -> AsyncIterator[str]:
    """An RSU id of this test's own, whose retained messages are cleared afterwards.

    The machine's broker outlives test runs and keeps each RSU's last status and signal state
    retained: a fixed id would hand this test an earlier run's state, and ids of their own that
    nobody clears would pile up on the broker for every later twin to load.
    """
    rsu = f"rsu-test-{uuid.uuid4().hex[:8]}"
    yield rsu
    url = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(url.host, url.port, identifier=f"{rsu}-cleanup") as client:
        for kind in TopicKind:
            await client.publish(Topic(rsu, kind).format(), b"", qos=1, retain=True)


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
