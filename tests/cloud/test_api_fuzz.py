"""schemathesis fuzzes every operation of the control API against the API's own OpenAPI document
(a real service on free ports: embedded broker, SQLite, uvicorn): no input gives a server error,
and every response matches the documented schema."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cloud.config import CloudConfig, TokenConfig
from cloud.service import CloudService
from tests.conftest import TWIN_KEY

ADMIN = "fuzz-admin-token-0123456789"


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on its own event loop in a thread, so the synchronous fuzzer can call it."""
    db = Path(tmp_path_factory.mktemp("fuzz")) / "twin.sqlite3"
    config = CloudConfig(
        command_signing_key_file=TWIN_KEY,
        db_url=f"sqlite:///{db}",
        http_port=0,
        tokens=(TokenConfig(token=ADMIN, name="fuzz", role="admin"),),
    )
    loop = asyncio.new_event_loop()
    service = CloudService(config)
    ready = threading.Event()
    stop = asyncio.Event()

    async def run() -> None:
        async with service:
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),))
    thread.start()
    ready.wait(60)
    yield service.url
    loop.call_soon_threadsafe(stop.set)
    thread.join(60)
    loop.close()


def test_api_conforms_to_its_openapi(live_service: str) -> None:
    # schemathesis' own pytest plugin does not run under pytest 9 yet; drive its hypothesis
    # strategies directly, one operation at a time.
    schema = schemathesis.openapi.from_url(f"{live_service}/openapi.json").exclude(
        path="/api/v1/feed"  # an endless event stream; covered by test_api
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @settings(
            max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            # Geometry rules (a simple polygon) are beyond JSON Schema, so a schema-valid body may
            # rightly get 422: everything else is checked (no 5xx, responses match the schema).
            case.call_and_validate(
                headers={"Authorization": f"Bearer {ADMIN}"},
                excluded_checks=[positive_data_acceptance],
            )

        check()
