"""Clients that disconnect mid-stream, or thousands that connect and vanish, leave nothing behind:
no subscriber, no task, no memory that grows with the number of connections."""

from __future__ import annotations

import asyncio
import gc
import signal
import subprocess
import sys
import textwrap
import tracemalloc

import grpc

from protos.vicoop.v1 import roadside_pb2
from tests.conftest import make_object
from vehicle.testing import FakeRoadside

METHOD = "/vicoop.v1.Roadside/StreamPerception"
REQUEST = roadside_pb2.StreamPerceptionRequest().SerializeToString()


async def _until(condition: object, timeout_s: float = 20.0) -> None:
    async def wait() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout_s)


async def _connect_read_vanish(target: str, clients: int) -> None:
    """``clients`` vehicles each subscribe, read one frame, and drop the connection."""

    async def one() -> None:
        channel = grpc.aio.insecure_channel(target)
        call = channel.unary_stream(METHOD, request_serializer=None, response_deserializer=None)(
            REQUEST
        )
        await call.read()
        await channel.close(grace=None)  # no goodbye: the stream is cut mid-flight

    for start in range(0, clients, 100):
        await asyncio.gather(*(one() for _ in range(min(100, clients - start))))


def _tasks() -> int:
    return len(asyncio.all_tasks())


async def test_thousands_of_vanishing_clients_leak_no_subscribers_tasks_or_memory() -> None:
    async with FakeRoadside(publish_rate_hz=100.0) as rsu:
        rsu.publish([make_object(i, x=float(i)) for i in range(20)])
        rsu.every(100.0)
        tasks_before = _tasks()
        await _connect_read_vanish(rsu.target, 300)  # warm up caches and pools
        await _until(lambda: rsu.hub.subscriber_count == 0)
        gc.collect()
        tracemalloc.start()
        try:
            first = tracemalloc.take_snapshot()
            await _connect_read_vanish(rsu.target, 2000)
            await _until(lambda: rsu.hub.subscriber_count == 0)
            await asyncio.sleep(0.2)
            gc.collect()
            second = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        growth = sum(stat.size_diff for stat in second.compare_to(first, "filename"))
        assert rsu.hub.stats().subscriptions_total == 2300
        assert _tasks() <= tasks_before
        # A leak of even 500 bytes per connection would show as 1 MB here.
        assert growth < 1_000_000, f"Python memory grew by {growth} bytes over 2000 connections"


async def test_a_killed_client_process_frees_its_subscriptions() -> None:
    async with FakeRoadside(publish_rate_hz=50.0) as rsu:
        rsu.publish([make_object(1)])
        rsu.every(50.0)
        script = textwrap.dedent(
            f"""
            import asyncio, grpc, sys
            async def main():
                channels = [grpc.aio.insecure_channel({rsu.target!r}) for _ in range(50)]
                calls = [c.unary_stream({METHOD!r}, request_serializer=None, response_deserializer=None)({REQUEST!r}) for c in channels]
                for call in calls:
                    await call.read()
                print("subscribed", flush=True)
                await asyncio.sleep(3600)
            asyncio.run(main())
            """
        )
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        try:
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)  # type: ignore[union-attr]
            assert line.strip() == b"subscribed"
            assert rsu.hub.subscriber_count == 50
            proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(proc.wait)
            await _until(lambda: rsu.hub.subscriber_count == 0)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()  # type: ignore[union-attr]
            proc.wait()
