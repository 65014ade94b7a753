"""``vicoop bench cloud``: N simulated RSUs publish status and perception summaries through the
broker; the twin ingests them. Prints one JSON object: messages ingested per second, ingest lag
(publish -> applied to the twin) p50/p99 in ms, and the twin process's CPU seconds; and, measured
first in the same run against the same broker and load, the same figures for a bare aiomqtt
subscriber that only parses the protobuf (the transport's own share of the lag).

The RSUs are simulated in a separate process (paho-mqtt, the same protobuf payloads as real
RSUs), so the twin's CPU figure is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import socket
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import aiomqtt
import numpy as np

from cloud.broker import EmbeddedBroker
from cloud.ingest import TwinIngest
from cloud.store import Store
from cloud.twin import Twin
from cloud.zones import ZoneManager
from protos.vicoop.v1 import cloud_pb2
from vicoop import codec_cloud
from vicoop.cloudmodel import PerceptionSummary, RsuHealth, RsuStatus
from vicoop.model import DetectedObject, GeodeticOrigin, ObjectClass, Size3, Vec3
from vicoop.mqtt import Topic, TopicKind, parse_mqtt_url, topic_filter


def _publisher(
    url: str, rsus: int, rate_hz: float, duration_s: float, objects: int, start_at: float
) -> None:
    import paho.mqtt.client as mqtt

    broker = parse_mqtt_url(url)
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="vicoop-bench-rsus")
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    import socket

    sock = client.socket()
    if isinstance(sock, socket.socket):  # small messages: no Nagle delay on the RSU side
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    origins = [
        GeodeticOrigin(50.93 + 0.001 * (i % 50), 6.95 + 0.001 * (i // 50)) for i in range(rsus)
    ]
    for i, origin in enumerate(origins):
        status = RsuStatus(f"bench-{i}", RsuHealth.OK, origin, 150.0, sent_at_ns=time.time_ns())
        client.publish(
            str(Topic(f"bench-{i}", TopicKind.STATUS)),
            codec_cloud.encode_status(status),
            qos=1,
            retain=False,
        )
    while time.time() < start_at:
        time.sleep(0.01)
    period = 1.0 / rate_hz
    tick = time.time()
    seq = 0
    end = start_at + duration_s
    # RSUs publish on their own clocks: each has its own phase within the period, as in the
    # field, rather than all in one burst.
    phase = [period * i / rsus for i in range(rsus)]
    perception = [Topic(f"bench-{i}", TopicKind.PERCEPTION) for i in range(rsus)]
    while tick < end:
        seq += 1
        for i, origin in enumerate(origins):
            delay = tick + phase[i] - time.time()
            if delay > 0:
                time.sleep(delay)
            now = time.time_ns()
            objs = tuple(
                DetectedObject(
                    k,
                    ObjectClass.CAR,
                    0.9,
                    Vec3(k * 3.0, (seq % 100) * 0.5, 0.7),
                    Vec3(5.0, 0.0),
                    0.0,
                    Size3(4.5, 1.8, 1.5),
                    (0.2, 0, 0, 0.2, 0, 0.01),
                    0.99,
                    now,
                )
                for k in range(objects)
            )
            summary = PerceptionSummary(f"bench-{i}", seq, now, time.time_ns(), origin, objs)
            client.publish(str(perception[i]), codec_cloud.encode_summary(summary))
        tick += period
        delay = tick - time.time()
        if delay > 0:
            time.sleep(delay)
    client.loop_stop()
    client.disconnect()


# The settings of deploy/mosquitto/mosquitto.conf that matter for latency, on a loopback port.
_MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 10000
set_tcp_nodelay true
"""


@contextlib.contextmanager
def local_mosquitto() -> Iterator[str]:
    """A Mosquitto process on a free loopback port, with the broker settings vicoop ships."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="vicoop-mosquitto-") as tmp:
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(_MOSQUITTO_CONF.format(port=port))
        proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while True:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start: is it installed?")
                time.sleep(0.05)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)
            if proc.stderr is not None:
                proc.stderr.close()


async def _drive(
    mqtt_url: str,
    rsus: int,
    rate_hz: float,
    duration_s: float,
    objects: int,
    lag_ns: deque[int],
    ingested: Callable[[], int],
) -> dict[str, object]:
    """Run the simulated RSUs (a process of their own) against whatever subscribes at
    ``mqtt_url``; measure ``duration_s`` after a 1 s warm-up: messages ingested per second (by
    ``ingested``), the lag samples the subscriber put in ``lag_ns``, and this process's CPU."""
    warmup_s = 1.0
    start_at = time.time() + 1.0
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=_publisher, args=(mqtt_url, rsus, rate_hz, duration_s + warmup_s, objects, start_at)
    )
    proc.start()
    await asyncio.sleep(max(0.0, start_at - time.time()) + warmup_s)
    lag_ns.clear()
    m0, c0, t0 = ingested(), time.process_time(), time.monotonic()
    await asyncio.sleep(duration_s)
    m1, c1, t1 = ingested(), time.process_time(), time.monotonic()
    lag = np.array(lag_ns, dtype=np.float64) / 1e6
    await asyncio.to_thread(proc.join, 30)
    return {
        "messages_per_s": round((m1 - m0) / (t1 - t0), 1),
        "lag_ms": {
            "p50": round(float(np.percentile(lag, 50)), 2) if lag.size else None,
            "p99": round(float(np.percentile(lag, 99)), 2) if lag.size else None,
            "max": round(float(lag.max()), 2) if lag.size else None,
        },
        "cpu_s": round(c1 - c0, 2),
    }


async def _bare_subscriber(
    mqtt_url: str, lag_ns: deque[int], received: list[int], ready: asyncio.Event
) -> None:
    """The baseline: a bare aiomqtt subscriber that parses each summary's protobuf for its
    publish time and nothing else (no validation, no twin)."""
    broker = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        identifier="vicoop-bench-bare",
        max_queued_incoming_messages=100_000,
    ) as client:
        await client.subscribe(topic_filter(kind=TopicKind.PERCEPTION), qos=1)
        ready.set()
        async for message in client.messages:
            pb = cloud_pb2.PerceptionSummary()
            pb.ParseFromString(message.payload)  # type: ignore[arg-type]
            lag_ns.append(time.time_ns() - pb.published_at_ns)
            received[0] += 1


async def run_bench(
    rsus: int,
    rate_hz: float,
    duration_s: float,
    objects: int,
    mqtt_url: str | None,
    baseline: bool = True,
) -> dict[str, object]:
    broker = None
    if mqtt_url is None:
        broker = EmbeddedBroker()
        await broker.start()
        mqtt_url = broker.url
    result: dict[str, object] = {
        "rsus": rsus,
        "rate_hz": rate_hz,
        "objects_per_summary": objects,
        "duration_s": duration_s,
        "broker": "embedded amqtt" if broker else mqtt_url,
        "messages_offered_per_s": rsus * rate_hz,
    }
    try:
        if baseline:
            lag: deque[int] = deque(maxlen=1_000_000)
            received = [0]
            ready = asyncio.Event()
            task = asyncio.create_task(_bare_subscriber(mqtt_url, lag, received, ready))
            try:
                await asyncio.wait_for(ready.wait(), 10)
                bare = await _drive(
                    mqtt_url, rsus, rate_hz, duration_s, objects, lag, lambda: received[0]
                )
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with tempfile.TemporaryDirectory(prefix="vicoop-bench-") as tmp:
            store = Store(f"sqlite:///{tmp}/twin.sqlite3")
            try:
                await asyncio.to_thread(store.migrate)
                twin = Twin()
                ingest = TwinIngest(
                    twin, ZoneManager(), store, mqtt_url, client_id="vicoop-bench-twin"
                )
                await ingest.start()
                try:
                    await asyncio.wait_for(ingest.session.connected.wait(), 10)
                    ours = await _drive(
                        mqtt_url,
                        rsus,
                        rate_hz,
                        duration_s,
                        objects,
                        ingest.lag_ns,
                        lambda: twin.counters.summaries,
                    )
                finally:
                    await ingest.stop()
            finally:
                store.close()
        result |= ours
        result["malformed"] = ingest.session.stats.malformed
        if baseline:
            result["baseline"] = {
                "what": "bare aiomqtt subscriber, protobuf parse only (no validation, no twin)",
                **bare,
            }
            ours_p99 = ours["lag_ms"]["p99"]  # type: ignore[index]
            bare_p99 = bare["lag_ms"]["p99"]  # type: ignore[index]
            if ours_p99 is not None and bare_p99:
                result["lag_p99_vs_baseline"] = round(ours_p99 / bare_p99, 2)
    finally:
        if broker is not None:
            await broker.stop()
    return result


def _run(args: argparse.Namespace) -> int:
    if args.mosquitto:
        with local_mosquitto() as url:
            result = asyncio.run(
                run_bench(
                    args.rsus, args.rate, args.duration, args.objects, url, not args.no_baseline
                )
            )
        result["broker"] = "mosquitto (vicoop settings, started by the bench)"
    else:
        result = asyncio.run(
            run_bench(
                args.rsus,
                args.rate,
                args.duration,
                args.objects,
                args.mqtt_url,
                not args.no_baseline,
            )
        )
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def add_parser(benches: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = benches.add_parser("cloud", help="RSU -> twin ingest through the MQTT broker")
    p.add_argument("--rsus", type=int, default=200)
    p.add_argument("--rate", type=float, default=10.0, help="summaries per second per RSU")
    p.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    p.add_argument("--objects", type=int, default=8, help="objects per summary")
    broker = p.add_mutually_exclusive_group()
    broker.add_argument(
        "--mqtt-url", default=None, help="mqtt://host:port; default: embedded broker"
    )
    broker.add_argument(
        "--mosquitto",
        action="store_true",
        help="start a Mosquitto with the settings of deploy/mosquitto (TCP_NODELAY) for the run",
    )
    p.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the bare-subscriber baseline measured before the twin (same broker, same load)",
    )
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(run=_run)
