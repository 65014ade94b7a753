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

import pytest

from cloud.broker import EmbeddedBroker
from cloud.store import Store


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
