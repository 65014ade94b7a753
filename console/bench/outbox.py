"""``vicoop bench outbox``: how fast the twin drains RSU outboxes. Simulated RSUs (a process of
their own, paho-mqtt, the payloads real RSUs send) publish ``--messages`` outbox events at QoS 1
as fast as the broker takes them, and wait for the twin's receipts; the figure is messages
receipted per second, from the first publish to the last receipt, with every event stored.

``--workers N`` runs N twin workers on the one store, the outbox topic a shared subscription of
their group (as ``shared_group`` does), each message stored once by the (RSU, sequence) key.

The baseline, measured first in the same run against the same broker: a bare aiomqtt client that
answers each outbox message with its receipt (QoS 1) and stores nothing: the transport's ceiling
for one message at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import queue
import tempfile
import time
import uuid
from typing import Any

import aiomqtt

from cloud.ingest import TwinIngest
from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from console.bench.cloud import local_mosquitto
from vicoop import codec_cloud
from vicoop.cloudmodel import Event, EventKind, OutboxMessage
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url, topic_filter


def _rsus(url: str, prefix: str, rsus: int, messages: int, out: Any) -> None:
    """Publish ``messages`` outbox events over ``rsus`` RSUs; put (sent, receipted, seconds)."""
    import socket
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    broker = parse_mqtt_url(url)
    pending = {(f"{prefix}-{i % rsus}", i // rsus + 1) for i in range(messages)}
    done = threading.Event()
    lock = threading.Lock()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        rsu_id = Topic.parse(message.topic).rsu_id
        with lock:
            for sequence in codec_cloud.decode_receipt(message.payload):
                pending.discard((rsu_id, sequence))
            if not pending:
                done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-rsus")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_message = on_message
    client.connect(broker.host, broker.port)
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    for i in range(rsus):
        client.subscribe(str(Topic(f"{prefix}-{i}", TopicKind.RECEIPTS)), qos=1)
    time.sleep(0.5)
    t0 = time.monotonic()
    now = time.time_ns()
    for i in range(messages):
        rsu_id, sequence = f"{prefix}-{i % rsus}", i // rsus + 1
        event = Event(EventKind.ZONE_CLOSED_ENTRY, now, zone_id="z-1", vehicle_id=f"v-{i}")
        client.publish(
            str(Topic(rsu_id, TopicKind.OUTBOX)),
            codec_cloud.encode_outbox(OutboxMessage(rsu_id, sequence, now, event)),
            qos=1,
        )
    done.wait(120)
    seconds = time.monotonic() - t0
    with lock:
        receipted = messages - len(pending)
    client.loop_stop()
    client.disconnect()
    out.put((messages, receipted, seconds))


def _drive(url: str, prefix: str, rsus: int, messages: int) -> tuple[int, int, float]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_rsus, args=(url, prefix, rsus, messages, out))
    proc.start()
    deadline = time.monotonic() + 600
    while True:
        with contextlib.suppress(queue.Empty):
            result: tuple[int, int, float] = out.get(timeout=0.5)
            proc.join(30)
            return result
        if not proc.is_alive() or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the simulated RSUs ended without a result (exit {proc.exitcode})")


async def _bare(url: str, prefix: str, ready: asyncio.Event) -> None:
    broker = parse_mqtt_url(url)
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=f"{prefix}-bare", max_queued_incoming_messages=0
    ) as client:
        await client.subscribe(topic_filter(kind=TopicKind.OUTBOX), qos=1)
        ready.set()
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            m = codec_cloud.decode_outbox(message.payload)
            await client.publish(
                str(Topic(m.rsu_id, TopicKind.RECEIPTS)),
                codec_cloud.encode_receipt([m.sequence]),
                qos=1,
            )


def _figures(sent: int, receipted: int, seconds: float) -> dict[str, object]:
    return {
        "sent": sent,
        "receipted": receipted,
        "seconds": round(seconds, 2),
        "msgs_per_s": round(receipted / seconds, 1) if seconds > 0 else None,
    }


async def run_bench(
    url: str,
    rsus: int,
    messages: int,
    db_url: str | None,
    baseline: bool = True,
    workers: int = 1,
) -> dict[str, object]:
    result: dict[str, object] = {"rsus": rsus, "messages": messages, "workers": workers}
    if baseline:
        prefix = f"bench-bare-{uuid.uuid4().hex[:6]}"
        ready = asyncio.Event()
        task = asyncio.create_task(_bare(url, prefix, ready))
        try:
            await asyncio.wait_for(ready.wait(), 10)
            bare = await asyncio.to_thread(_drive, url, prefix, rsus, messages)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    with tempfile.TemporaryDirectory(prefix="vicoop-bench-") as tmp:
        schema = f"bench_{uuid.uuid4().hex[:8]}" if db_url else None
        store = Store(db_url or f"sqlite:///{tmp}/twin.sqlite3", schema=schema)
        try:
            await asyncio.to_thread(store.migrate)
            prefix = f"bench-twin-{uuid.uuid4().hex[:6]}"
            group = f"{prefix}-group" if workers > 1 else None
            ingests = [
                TwinIngest(
                    Twin(),
                    ZoneManager(),
                    store,
                    url,
                    client_id=f"{prefix}-twin-{n}",
                    shared_group=group,
                )
                for n in range(workers)
            ]
            for ingest in ingests:
                await ingest.start()
            try:
                for ingest in ingests:
                    await asyncio.wait_for(ingest.session.connected.wait(), 10)
                ours = await asyncio.to_thread(_drive, url, prefix, rsus, messages)
            finally:
                for ingest in ingests:
                    await ingest.stop()
            stored = len(store.outbox_keys())
            shares = [i.twin.counters.events for i in ingests]
            if schema:
                store.drop_schema()
        finally:
            store.close()
    twin: dict[str, object] = {**_figures(*ours), "stored": stored, "store": store.dialect}
    if workers > 1:
        twin["applied_per_worker"] = shares
    result["twin"] = twin
    if baseline:
        result["baseline"] = {
            "what": "bare aiomqtt client: one receipt per message, stores nothing",
            **_figures(*bare),
        }
    return result


def _run(args: argparse.Namespace) -> int:
    if args.mqtt_url:
        result = asyncio.run(
            run_bench(
                args.mqtt_url,
                args.rsus,
                args.messages,
                args.db_url,
                not args.no_baseline,
                args.workers,
            )
        )
        result["broker"] = args.mqtt_url
    else:
        with local_mosquitto() as url:
            result = asyncio.run(
                run_bench(
                    url, args.rsus, args.messages, args.db_url, not args.no_baseline, args.workers
                )
            )
        result["broker"] = "mosquitto (vicoop settings, started by the bench)"
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def add_parser(benches: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = benches.add_parser("outbox", help="RSU outbox -> twin store and receipts, through MQTT")
    p.add_argument("--rsus", type=int, default=20)
    p.add_argument("--messages", type=int, default=5000, help="outbox events in all")
    p.add_argument("--mqtt-url", default=None, help="mqtt://host:port; default: a Mosquitto")
    p.add_argument("--db-url", default=None, help="the twin's store (default: SQLite in tmp)")
    p.add_argument(
        "--workers", type=int, default=1, help="twin workers sharing the outbox (shared_group)"
    )
    p.add_argument("--no-baseline", action="store_true", help="skip the bare-client baseline")
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(run=_run)
