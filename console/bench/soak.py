"""``vicoop bench soak``: the fault and soak suite (issue 13). Real processes under load while
faults are made to them, and an account of what was sent, accepted, stored, rejected and lost.

What runs, each a process of its own: a Mosquitto on a free port; two twin workers (``vicoop
cloud run``, ``shared_group``, one PostgreSQL schema of this run's own, dropped at the end); two
RSUs (``vicoop rsu run``): ``a`` with the synthetic source and its outbox on a small tmpfs, ``b``
with the fused sensor pipeline fed by this process (a VRAD radar, a JSON camera and a signal
controller over UDP). This process also plays the vehicles (the ``vehicle`` library: state
reports, churning perception and zone streams, a long-lived perception stream that watches
tracking on ``b``) and the operators (zone edits through each worker's API).

The faults (``console.bench.soak_plan.schedule``), one at a time, cycle after cycle: Mosquitto
SIGKILLed and restarted, a worker SIGKILLed and restarted, RSU ``a`` SIGKILLed and restarted,
``a``'s disk filled and freed, ``b``'s radar an hour ahead, and floods of malformed and oversized
messages on every input (UDP, MQTT, gRPC, REST).

The events: a closed zone at the crossing (each road user entering it is a ZONE_CLOSED_ENTRY
event) and implausible vehicle reports (VEHICLE_REPORT_REJECTED), RSU -> outbox -> MQTT -> twin
-> PostgreSQL. At the end the load stops, the outboxes drain, the RSUs stop cleanly and the
account is made from what each side holds: the RSUs' outbox files (how many messages each ever
numbered, how many still wait) and the twin's tables (which of them it stored).

Progress lines go to stderr; the last line on stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import grpc
import yaml
from prometheus_client.parser import text_string_to_metric_families

from cloud.store import Store
from console.bench.cloud import _MOSQUITTO_CONF
from console.bench.soak_plan import (
    Fault,
    FaultKind,
    Ledger,
    OutboxAccount,
    Sample,
    active,
    applied_twice,
    memory_growth_pct,
    schedule,
)
from roadside.ingest import camera as camera_wire
from roadside.ingest import udp_radar
from vehicle import ReconnectPolicy, RoadsideClient, VehicleReport
from vicoop import codec_cloud
from vicoop.model import ObjectClass, Size3
from vicoop.mqtt import Topic, TopicKind
from vicoop.signing import write_key_pair

ORIGIN = (50.9375, 6.9603, 55.0)
SAMPLE_EVERY_S = 2.0
TOKENS = {
    "viewer": "soak-viewer-token-0000",
    "operator": "soak-operator-token-000",
    "admin": "soak-admin-token-000000",
}
_TASK_FAILED = re.compile(r"task \S+ (failed; restarting it|ended unexpectedly)")


def _log(message: str) -> None:
    print(f"soak: {message}", file=sys.stderr, flush=True)


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` from /proc (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# processes ---------------------------------------------------------------------------------------


@dataclass
class Daemon:
    """One daemon the soak runs: started, SIGKILLed and started again by the soak; one that exits
    on its own is a death. ``samples`` holds each instance's RSS over time."""

    name: str
    argv: list[str]
    log_path: Path
    ready_port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    instance: int = 0
    started_at_s: list[float] = field(default_factory=list)
    samples: dict[int, list[Sample]] = field(default_factory=dict)
    stop_status: int | None = None

    def start(self, t_s: float) -> None:
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()
        self.instance += 1
        self.started_at_s.append(t_s)
        self.samples[self.instance] = []

    async def ready(self, limit_s: float = 60.0) -> None:
        """Wait for the daemon's port to take connections (a hang guard)."""
        if self.ready_port is None:
            return
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited at start ({self.proc.returncode}): see {self.log_path}"
                )
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.ready_port)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on {self.ready_port} within {limit_s} s")

    async def kill(self) -> None:
        """SIGKILL (the soak's own fault, not a death)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self.proc.wait)
        self.proc = None

    async def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``); keeps the exit status."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)
        self.stop_status = self.proc.returncode
        self.proc = None

    def died(self) -> int | None:
        """The exit status when the process ended without the soak stopping it, else None."""
        if self.proc is not None and (code := self.proc.poll()) is not None:
            self.proc = None
            return code
        return None

    def sample(self, t_s: float) -> None:
        if self.proc is not None and (rss := _rss_bytes(self.proc.pid)) is not None:
            self.samples[self.instance].append(Sample(t_s, rss))

    def rss_mb(self) -> float | None:
        current = self.samples.get(self.instance) or []
        return round(current[-1].rss_bytes / 2**20, 1) if current and self.proc else None

    def logged_task_failures(self) -> int:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return len(_TASK_FAILED.findall(text))


def _vicoop() -> list[str]:
    """The ``vicoop`` command line of this installation, as its own process."""
    return [sys.executable, "-m", "console.cli"]


@dataclass
class Rig:
    """Everything the soak started, with the ports and paths it chose."""

    work: Path
    run_id: str
    db_url: str
    schema: str
    mqtt_port: int
    broker: Daemon
    workers: list[Daemon]
    worker_ports: list[int]
    rsus: dict[str, Daemon]
    rsu_ids: dict[str, str]
    rsu_grpc: dict[str, int]
    rsu_metrics: dict[str, int]
    outbox_paths: dict[str, Path]
    disk: Path | None
    radar_port: int
    camera_port: int
    signal_port: int

    @property
    def daemons(self) -> list[Daemon]:
        return [*self.workers, *self.rsus.values()]


def _search_path_url(db_url: str, schema: str) -> str:
    sep = "&" if "?" in db_url else "?"
    return f"{db_url}{sep}options=-csearch_path%3D{schema}"


def _mount_disk(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def _build(work: Path, db_url: str, disk_size: str) -> Rig:
    run_id = uuid.uuid4().hex[:6]
    schema = f"soak_{run_id}"
    mqtt_port = _free_port()
    conf = work / "mosquitto.conf"
    conf.write_text(_MOSQUITTO_CONF.format(port=mqtt_port))
    broker = Daemon("mosquitto", ["mosquitto", "-c", str(conf)], work / "mosquitto.log", mqtt_port)
    mqtt_url = f"mqtt://127.0.0.1:{mqtt_port}"
    worker_db = _search_path_url(db_url, schema)
    key, public_key = work / "command-key.pem", work / "command-key.pub.pem"
    write_key_pair(key, public_key)
    workers, worker_ports = [], []
    for i in range(2):
        port = _free_port()
        cfg = {
            "mqtt_url": mqtt_url,
            "db_url": worker_db,
            "http_port": port,
            "shared_group": "soak",
            "command_resend_s": 2.0,
            "command_signing_key_file": str(key),
            "tokens": [{"token": t, "name": f"soak-{r}", "role": r} for r, t in TOKENS.items()],
            # The floods' bad tokens come from the address the soak's own calls use: a limit
            # of 10 a minute would answer those 429 too.
            "auth_failures_allowed": 100_000,
        }
        path = work / f"worker-{i}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        workers.append(
            Daemon(
                f"worker-{i}",
                [*_vicoop(), "cloud", "run", "--config", str(path)],
                work / f"worker-{i}.log",
                port,
            )
        )
        worker_ports.append(port)
    disk = work / "disk"
    mounted = _mount_disk(disk, disk_size)
    radar_port, camera_port, signal_port = (_free_port(socket.SOCK_DGRAM) for _ in range(3))
    rsus: dict[str, Daemon] = {}
    ids, grpc_ports, metric_ports, outboxes = {}, {}, {}, {}
    for name in ("a", "b"):
        rsu_id = f"soak-{run_id}-{name}"
        ids[name], grpc_ports[name], metric_ports[name] = rsu_id, _free_port(), _free_port()
        outboxes[name] = (disk if name == "a" and mounted else work) / f"outbox-{name}.sqlite3"
        cloud: dict[str, Any] = {
            "enabled": True,
            "mqtt_url": mqtt_url,
            "outbox_path": str(outboxes[name]),
            "resend_after_s": 2.0,
            "status_interval_s": 2.0,
            "command_keys": [{"key_id": "twin-1", "public_key_file": str(public_key)}],
        }
        source: dict[str, Any] = {"kind": "synthetic", "objects": 24, "arm_length_m": 60.0}
        if name == "b":
            source = {
                "kind": "sensors",
                "radars": [{"sensor_id": "radar-1", "input": {"port": radar_port}}],
                "cameras": [{"sensor_id": "camera-1", "input": {"port": camera_port}}],
            }
            cloud["signals"] = {"source": "controller", "port": signal_port}
        cfg = {
            "rsu_id": rsu_id,
            "origin": dict(
                zip(("latitude_deg", "longitude_deg", "altitude_m"), ORIGIN, strict=True)
            ),
            "server": {"host": "127.0.0.1", "port": grpc_ports[name], "grace_period_s": 1.0},
            "publish": {"rate_hz": 10.0},
            "source": source,
            "cloud": cloud,
            "metrics": {"host": "127.0.0.1", "port": metric_ports[name]},
        }
        path = work / f"rsu-{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        rsus[name] = Daemon(
            f"rsu-{name}",
            [*_vicoop(), "rsu", "run", "--config", str(path)],
            work / f"rsu-{name}.log",
            grpc_ports[name],
        )
    return Rig(
        work,
        run_id,
        db_url,
        schema,
        mqtt_port,
        broker,
        workers,
        worker_ports,
        rsus,
        ids,
        grpc_ports,
        metric_ports,
        outboxes,
        disk if mounted else None,
        radar_port,
        camera_port,
        signal_port,
    )


# HTTP (stdlib: the soak's own requests are few) -----------------------------------------------


def _http(
    method: str,
    url: str,
    body: bytes | None = None,
    token: str | None = None,
    timeout_s: float = 5.0,
) -> tuple[int, bytes]:
    """(status, body); status 0 when the connection failed."""
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("content-type", "application/json")
    if token is not None:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


def _metrics(url: str, token: str | None = None) -> dict[str, float] | None:
    """A Prometheus scrape as {name{labels}: value} (None when the daemon did not answer)."""
    status, body = _http("GET", url, token=token, timeout_s=3.0)
    if status != 200:
        return None
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def _sum(scrape: dict[str, float] | None, prefix: str) -> float:
    if not scrape:
        return 0.0
    return sum(v for k, v in scrape.items() if k == prefix or k.startswith(prefix + "{"))


# the soak ----------------------------------------------------------------------------------------


def _square(half_m: float, centre: tuple[float, float] = (ORIGIN[0], ORIGIN[1])) -> list[Any]:
    lat, lon = centre
    dlat = half_m / 111_320.0
    dlon = half_m / (111_320.0 * math.cos(math.radians(lat)))
    ring = [
        (lon - dlon, lat - dlat),
        (lon + dlon, lat - dlat),
        (lon + dlon, lat + dlat),
        (lon - dlon, lat + dlat),
        (lon - dlon, lat - dlat),
    ]
    return [[list(p) for p in ring]]


def _bad_payloads() -> list[bytes]:
    """MQTT payloads that every decoder of the RSU and the twin refuses (a forged payload that
    happened to parse, e.g. as a receipt, would be an attack, not a flood)."""
    candidates = [
        b"\xff" * 64,
        b"not protobuf at all",
        b"\x0a\xff\xff\xff\xff\x0f",
        b"\xff\xfe" * (300 * 1024),  # oversized: 600 KiB
        bytes(range(256)) * 8,
    ]
    decoders: list[Callable[[bytes], Any]] = [
        codec_cloud.decode_receipt,
        codec_cloud.decode_outbox,
        codec_cloud.decode_status,
        codec_cloud.decode_summary,
        codec_cloud.decode_command,
    ]
    kept = []
    for payload in candidates:
        parsed = False
        for decode in decoders:
            try:
                decode(payload)
                parsed = True
            except Exception:  # any refusal will do
                pass
        if not parsed:
            kept.append(payload)
    return kept


def _bad_datagrams(sensor_wire_id: int) -> list[bytes]:
    good = udp_radar.encode(
        sensor_wire_id, 1, time.time_ns(), [udp_radar.RadarObject(20.0, 0.0, 0.0)]
    )
    return [
        os.urandom(64),
        good[:-3],  # truncated
        good[:-4] + b"\0\0\0\0",  # bad CRC
        b"XRAD" + good[4:],  # bad magic
        os.urandom(65507),  # oversized
        b"{not json",
        json.dumps({"v": 1, "sensor_id": "camera-1", "frame": "x", "boxes": 7}).encode(),
        json.dumps({"v": 1, "boxes": [{"box": [1, 2]}] * 4000}).encode()[:65507],
        b"\xc3\x28" * 100,  # invalid UTF-8
    ]


class Soak:
    """One run: ``run()`` returns the result object."""

    def __init__(self, rig: Rig, duration_s: float, warmup_s: float, drain_s: float) -> None:
        self.rig = rig
        self.duration_s = duration_s
        self.warmup_s = warmup_s
        self.drain_s = drain_s
        self.faults: list[Fault] = schedule(duration_s, warmup_s)
        self.ledger = Ledger()
        self.t0 = time.monotonic()
        self.done = asyncio.Event()
        self.down: set[str] = set()  # daemons the soak has killed and not restarted yet
        self.series: list[dict[str, Any]] = []
        self.faults_done: Counter[str] = Counter()
        # The latest scrape of each daemon (none while it does not answer), and the last one of
        # each process instance (its counters end with it).
        self.rsu_scrapes: dict[str, dict[str, float]] = {}
        self.worker_scrapes: dict[str, dict[str, float]] = {}
        self.last_scrapes: dict[tuple[str, int], dict[str, float]] = {}
        self.tracking: list[tuple[float, int]] = []  # (t_s, objects) frames from RSU b
        self.report_seq = 0
        self.rng = random.Random(13)
        self.bad_mqtt = _bad_payloads()
        self.bad_udp = _bad_datagrams(1)
        self.skew_ns = 0
        self.filler: Path | None = None
        self.counter: Store | None = None  # counts the events stored, for the progress lines
        # What the twin's database holds at the end: its acknowledgements, and each zone's
        # version (deleted zones included).
        self.acks: list[tuple[str, int, str, int, str]] = []
        self.final_versions: dict[str, int] = {}

    def now(self) -> float:
        return time.monotonic() - self.t0

    def is_active(self, kind: FaultKind) -> bool:
        return kind in active(self.faults, self.now())

    # start and stop ----------------------------------------------------------------------------

    async def start(self) -> None:
        rig = self.rig
        self.counter = Store(rig.db_url, schema=rig.schema)
        await asyncio.to_thread(self.counter.migrate)
        rig.broker.start(self.now())
        await rig.broker.ready()
        for d in rig.workers:  # one at a time: both migrate at start
            d.start(self.now())
            await d.ready()
        for d in rig.rsus.values():
            d.start(self.now())
        for d in rig.rsus.values():
            await d.ready()

    async def stop(self) -> None:
        for d in self.rig.daemons:
            await d.stop()
        await self.rig.broker.stop()
        if self.counter is not None:
            self.counter.close()

    # faults ------------------------------------------------------------------------------------

    async def _restart(self, d: Daemon) -> None:
        d.start(self.now())
        self.ledger.restarts[d.name] += 1
        with contextlib.suppress(RuntimeError):
            await d.ready(30.0)
        self.down.discard(d.name)

    async def _fault(self, fault: Fault) -> None:
        rig = self.rig
        target: Daemon | None = {
            FaultKind.BROKER_KILL: rig.broker,
            FaultKind.WORKER_KILL: rig.workers[0],
            FaultKind.RSU_KILL: rig.rsus["a"],
        }.get(fault.kind)
        _log(f"{self.now():6.1f} s fault {fault.kind.value} until {fault.end_s:.1f} s")
        if target is not None:
            self.down.add(target.name)
            await target.kill()
        elif fault.kind is FaultKind.DISK_FULL:
            if rig.disk is None:
                _log("no tmpfs (not root?): the disk_full fault is skipped")
                return
            self.filler = await asyncio.to_thread(_fill, rig.disk)
        elif fault.kind is FaultKind.CLOCK_SKEW:
            self.skew_ns = 3600 * 10**9
        self.faults_done[fault.kind.value] += 1
        await asyncio.sleep(max(0.0, fault.end_s - self.now()))
        if target is not None:
            await self._restart(target)
        elif fault.kind is FaultKind.DISK_FULL and self.filler is not None:
            self.filler.unlink(missing_ok=True)
            self.filler = None
        elif fault.kind is FaultKind.CLOCK_SKEW:
            self.skew_ns = 0
        _log(f"{self.now():6.1f} s fault {fault.kind.value} over")

    async def faults_loop(self) -> None:
        for fault in self.faults:
            await asyncio.sleep(max(0.0, fault.start_s - self.now()))
            if self.done.is_set():
                return
            await self._fault(fault)

    # sensors of RSU b --------------------------------------------------------------------------

    async def sensors_loop(self) -> None:
        """A radar with three still targets near the crossing, an alive camera (frames with
        nothing seen) and a signal controller, at 10 Hz (the controller at 2 Hz)."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        radar = ("127.0.0.1", self.rig.radar_port)
        cam = ("127.0.0.1", self.rig.camera_port)
        sig = ("127.0.0.1", self.rig.signal_port)
        targets = [
            udp_radar.RadarObject(r, a, 0.0, 10.0, int(ObjectClass.CAR))
            for r, a in ((15.0, 0.2), (21.0, 0.0), (30.0, -0.2))
        ]
        cycle = frame = seq = 0
        try:
            while not self.done.is_set():
                now = time.time_ns()
                cycle += 1
                frame += 1
                transport.sendto(udp_radar.encode(1, cycle, now + self.skew_ns, targets), radar)
                transport.sendto(camera_wire.encode("camera-1", frame, now, [], [], []), cam)
                if cycle % 5 == 0:
                    seq += 1
                    state = {
                        "v": 1,
                        "intersection_id": "junction-1",
                        "seq": seq,
                        "t_ns": now,
                        "groups": [{"group_id": "ns", "approach": "north", "colour": "green"}],
                    }
                    transport.sendto(json.dumps(state).encode(), sig)
                await asyncio.sleep(0.1)
        finally:
            transport.close()

    async def tracking_loop(self) -> None:
        """A vehicle watching RSU b's perception for the whole run: frames and their objects."""
        policy = ReconnectPolicy(initial_backoff_s=0.1, max_backoff_s=1.0)
        async with RoadsideClient(f"127.0.0.1:{self.rig.rsu_grpc['b']}", reconnect=policy) as rsu:
            async for frame in rsu.perception():
                self.tracking.append((self.now(), len(frame.objects)))
                if self.done.is_set():
                    return

    # vehicles ----------------------------------------------------------------------------------

    def _implausible(self, rsu: str) -> VehicleReport:
        self.report_seq += 1
        return VehicleReport(
            f"soak-veh-{rsu}-{self.report_seq}",
            ObjectClass.CAR,
            ORIGIN[0],
            ORIGIN[1],
            200.0,  # m/s: rejected, and an event for the operators
            0.0,
            Size3(4.5, 1.8, 1.5),
            time.time_ns(),
        )

    async def reports_loop(self) -> None:
        """Implausible reports (each one a VEHICLE_REPORT_REJECTED event, as the RSU's notice
        limits allow) to both RSUs, twice a second."""
        clients = {
            name: RoadsideClient(f"127.0.0.1:{port}") for name, port in self.rig.rsu_grpc.items()
        }
        for c in clients.values():
            await c.__aenter__()
        try:
            while not self.done.is_set():
                for name, client in clients.items():
                    if self.rig.rsus[name].name in self.down:
                        continue
                    try:
                        await client.report_state([self._implausible(name)], timeout_s=3.0)
                        self.ledger.report_calls["ok"] += 1
                    except grpc.aio.AioRpcError as exc:
                        self.ledger.report_calls[exc.code().name.lower()] += 1
                await asyncio.sleep(0.5)
        finally:
            for c in clients.values():
                await c.__aexit__(None, None, None)

    async def _one_vehicle(self, name: str) -> None:
        target = f"127.0.0.1:{self.rig.rsu_grpc[name]}"
        policy = ReconnectPolicy(initial_backoff_s=0.1, give_up_after_s=2.0)
        frames = 0
        try:
            async with asyncio.timeout(self.rng.uniform(0.5, 3.0)):
                async with RoadsideClient(target, reconnect=policy) as rsu:
                    async for _ in rsu.perception(max_rate_hz=self.rng.choice([0, 2, 5])):
                        frames += 1
            self.ledger.churn["ended_by_vehicle"] += 1
        except TimeoutError:
            self.ledger.churn["dropped_by_vehicle"] += 1
        except Exception as exc:  # counted: what a vehicle would see
            self.ledger.churn[f"error:{type(exc).__name__}"] += 1
        self.ledger.churn["frames"] += frames
        self.ledger.churn["connections"] += 1

    async def churn_loop(self) -> None:
        """Vehicles connecting, streaming perception for 0.5 to 3 s and dropping, three a second."""
        tasks: set[asyncio.Task[None]] = set()
        while not self.done.is_set():
            task = asyncio.create_task(self._one_vehicle(self.rng.choice(["a", "b"])))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(0.33)
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # operators ---------------------------------------------------------------------------------

    def _api(self, i: int) -> str:
        return f"http://127.0.0.1:{self.rig.worker_ports[i]}/api/v1"

    async def zones_loop(self) -> None:
        """A closed zone at the crossing (events), then edits of a speed zone every 2 s, through
        each worker's API in turn (the worker down at the time answers nothing: counted)."""
        closed = {
            "zone_id": "soak-closed",
            "name": "soak closed crossing",
            "geometry": {"type": "Polygon", "coordinates": _square(25.0)},
            "rules": {"closed": True},
        }
        await self._edit(1, "POST", "/zones", closed)
        edit = {
            "zone_id": "soak-edit",
            "name": "soak speed zone",
            "geometry": {"type": "Polygon", "coordinates": _square(60.0)},
            "rules": {"speed_limit_mps": 13.9},
        }
        await self._edit(1, "POST", "/zones", edit)
        n = 0
        while not self.done.is_set():
            await asyncio.sleep(2.0)
            n += 1
            body = {k: v for k, v in edit.items() if k != "zone_id"}
            body["rules"] = {"speed_limit_mps": 8.0 + n % 10}
            await self._edit(n % 2, "PUT", "/zones/soak-edit", body)

    async def _edit(self, worker: int, method: str, path: str, body: dict[str, Any]) -> None:
        status, answer = await asyncio.to_thread(
            _http, method, self._api(worker) + path, json.dumps(body).encode(), TOKENS["operator"]
        )
        if status in (200, 201):
            zone = json.loads(answer)
            self.ledger.zone_edited(zone["zone_id"], int(zone["version"]))
        else:
            self.ledger.zone_edits[f"worker-{worker}:{status or 'no answer'}"] += 1

    # floods ------------------------------------------------------------------------------------

    async def flood_loop(self) -> None:
        """While a flood fault is active: malformed and oversized input on every input, about
        twenty of each a second."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        try:
            while not self.done.is_set():
                if not self.is_active(FaultKind.FLOOD):
                    await asyncio.sleep(0.2)
                    continue
                await asyncio.gather(
                    self._flood_udp(transport),
                    self._flood_mqtt(),
                    self._flood_grpc(),
                    asyncio.to_thread(self._flood_rest),
                    return_exceptions=True,
                )
                await asyncio.sleep(0.05)
        finally:
            transport.close()

    async def _flood_udp(self, transport: asyncio.DatagramTransport) -> None:
        ports = {
            "radar": self.rig.radar_port,
            "camera": self.rig.camera_port,
            "signal": self.rig.signal_port,
        }
        for name, port in ports.items():
            for data in self.bad_udp:
                transport.sendto(data, ("127.0.0.1", port))
                self.ledger.floods_sent[f"udp:{name}"] += 1
        await asyncio.sleep(0)

    async def _flood_mqtt(self) -> None:
        kinds = [
            TopicKind.COMMANDS,
            TopicKind.RECEIPTS,
            TopicKind.STATUS,
            TopicKind.PERCEPTION,
            TopicKind.OUTBOX,
        ]
        try:
            async with aiomqtt.Client("127.0.0.1", self.rig.mqtt_port, timeout=3) as client:
                for rsu_id in self.rig.rsu_ids.values():
                    for kind in kinds:
                        payload = self.rng.choice(self.bad_mqtt)
                        await client.publish(str(Topic(rsu_id, kind)), payload, qos=0)
                        self.ledger.floods_sent[f"mqtt:{kind.name.lower()}"] += 1
        except (aiomqtt.MqttError, OSError, TimeoutError):
            self.ledger.flood_surprises["mqtt:no broker"] += 1

    async def _flood_grpc(self) -> None:
        for name, port in self.rig.rsu_grpc.items():
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                calls: list[tuple[str, Any, set[grpc.StatusCode]]] = []
                perception = channel.unary_stream("/vicoop.v1.Roadside/StreamPerception")
                zones = channel.unary_stream("/vicoop.v1.Roadside/StreamZones")
                reports = channel.stream_unary("/vicoop.v1.Roadside/ReportVehicleState")
                refused = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
                calls += [
                    ("perception", perception(b"\xff" * 32, timeout=2.0), refused),
                    ("zones", zones(b"\xff\xff", timeout=2.0), refused),
                    ("oversized", perception(b"\0" * (5 << 20), timeout=2.0), refused),
                ]
                for what, call, expected in calls:
                    self.ledger.floods_sent[f"grpc:{what}"] += 1
                    try:
                        async for _ in call:
                            break
                        self.ledger.flood_surprises[f"grpc:{name}:{what}:OK"] += 1
                    except grpc.aio.AioRpcError as exc:
                        if exc.code() not in expected | {grpc.StatusCode.UNAVAILABLE}:
                            self.ledger.flood_surprises[
                                f"grpc:{name}:{what}:{exc.code().name}"
                            ] += 1
                self.ledger.floods_sent["grpc:reports"] += 1
                try:
                    await reports(iter([b"\xff" * 40, os.urandom(300)]), timeout=2.0)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() is not grpc.StatusCode.UNAVAILABLE:
                        self.ledger.flood_surprises[f"grpc:{name}:reports:{exc.code().name}"] += 1

    def _flood_rest(self) -> None:
        bad_zone = {
            "zone_id": "soak-bad",
            "name": "bow tie",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
            },
        }
        requests: list[tuple[str, str, bytes | None, str | None]] = [
            ("POST", "/zones", b"{not json", TOKENS["operator"]),
            ("POST", "/zones", json.dumps(bad_zone).encode(), TOKENS["operator"]),
            ("POST", "/zones", json.dumps({"zone_id": 7}).encode(), TOKENS["operator"]),
            ("POST", "/zones", b"[" * 100_000, TOKENS["operator"]),
            ("POST", "/zones", json.dumps(bad_zone).encode(), "wrong-token-00000000"),
            ("POST", "/zones", json.dumps(bad_zone).encode(), TOKENS["viewer"]),
            ("GET", "/events?after_id=-1&kind=nope", None, TOKENS["viewer"]),
            ("GET", "/zones/" + "x" * 5000, None, None),
        ]
        for i in range(len(self.rig.workers)):
            if self.rig.workers[i].name in self.down:
                continue
            for method, path, body, token in requests:
                status, _ = _http(method, self._api(i) + path, body, token)
                self.ledger.floods_sent["rest"] += 1
                if status == 0 or status >= 500:
                    self.ledger.flood_surprises[f"rest:{method} {path[:20]}:{status}"] += 1

    # sampling ----------------------------------------------------------------------------------

    async def sample_loop(self) -> None:
        last_progress = -1e9
        while not self.done.is_set():
            await self.sample_once()
            if self.now() - last_progress >= 10.0:
                last_progress = self.now()
                self._progress()
            await asyncio.sleep(SAMPLE_EVERY_S)

    async def sample_once(self) -> None:
        t = self.now()
        for d in [self.rig.broker, *self.rig.daemons]:
            code = d.died()
            if code is not None:
                self.ledger.deaths.append((d.name, code, round(t, 1)))
                _log(
                    f"{t:6.1f} s DEATH: {d.name} exited with {code} (see {d.log_path}); restarting"
                )
                await self._restart(d)
            d.sample(t)
        for name, port in self.rig.rsu_metrics.items():
            scrape = await asyncio.to_thread(_metrics, f"http://127.0.0.1:{port}/metrics")
            self._keep(self.rsu_scrapes, name, self.rig.rsus[name], scrape)
        for i, port in enumerate(self.rig.worker_ports):
            scrape = await asyncio.to_thread(
                _metrics, f"http://127.0.0.1:{port}/metrics", TOKENS["viewer"]
            )
            self._keep(self.worker_scrapes, str(i), self.rig.workers[i], scrape)
        row: dict[str, Any] = {
            "t_s": round(t, 1),
            "faults": sorted(k.value for k in active(self.faults, t)),
        }
        for d in [self.rig.broker, *self.rig.daemons]:
            row[f"{d.name}_rss_mb"] = d.rss_mb()
        for name, scrape in self.rsu_scrapes.items():
            row[f"rsu-{name}_outbox_depth"] = _sum(scrape, "vicoop_rsu_outbox_depth")
            row[f"rsu-{name}_task_failures"] = _sum(scrape, "vicoop_rsu_task_failures_total")
            row[f"rsu-{name}_inputs_rejected"] = _sum(scrape, "vicoop_rsu_inputs_rejected_total")
            row[f"rsu-{name}_tasks_running"] = _sum(scrape, "vicoop_rsu_task_running")
        for key, scrape in self.worker_scrapes.items():
            row[f"worker-{key}_applied"] = _sum(scrape, "vicoop_twin_applied_total")
            row[f"worker-{key}_rejected"] = _sum(scrape, "vicoop_twin_inputs_rejected_total")
        row["soak_tasks"] = len(asyncio.all_tasks())
        if self.counter is not None:
            with contextlib.suppress(Exception):  # the database may be busy: no figure this time
                row["events_stored"] = await asyncio.to_thread(self.counter.event_count)
        self.series.append(row)

    def _keep(
        self,
        latest: dict[str, dict[str, float]],
        key: str,
        daemon: Daemon,
        scrape: dict[str, float] | None,
    ) -> None:
        if scrape is None:
            latest.pop(key, None)
            return
        latest[key] = scrape
        self.last_scrapes[(daemon.name, daemon.instance)] = scrape

    def rejected_by_daemons(self) -> dict[str, dict[str, float]]:
        """Inputs each daemon refused and counted, by input and reason, summed over its process
        instances (from each instance's last scrape)."""
        out: dict[str, Counter[str]] = {}
        for (name, _), scrape in self.last_scrapes.items():
            counts = out.setdefault(name, Counter())
            for key, value in scrape.items():
                for family in (
                    "vicoop_rsu_inputs_rejected_total",
                    "vicoop_twin_inputs_rejected_total",
                ):
                    if key.startswith(family + "{"):
                        counts[key[len(family) + 1 : -1]] += int(value)
        return {name: dict(c) for name, c in sorted(out.items())}

    def _progress(self) -> None:
        row = self.series[-1] if self.series else {}
        rss = " ".join(f"{d.name}={row.get(f'{d.name}_rss_mb')}" for d in self.rig.daemons)
        depth = " ".join(f"{n}={row.get(f'rsu-{n}_outbox_depth')}" for n in self.rig.rsus)
        _log(
            f"{self.now():6.1f} s reports {dict(self.ledger.report_calls)} events stored "
            f"{row.get('events_stored')} outbox depth {depth} "
            f"rss MB {rss} deaths {len(self.ledger.deaths)} floods {sum(self.ledger.floods_sent.values())}"
        )

    # drain and account -------------------------------------------------------------------------

    async def drain(self) -> float:
        """Wait (up to ``drain_s``) for both outboxes to be empty; returns the seconds taken."""
        start = self.now()
        while self.now() - start < self.drain_s:
            await self.sample_once()
            depths = [
                _sum(self.rsu_scrapes.get(n), "vicoop_rsu_outbox_depth") for n in self.rig.rsus
            ]
            fresh = all(n in self.rsu_scrapes for n in self.rig.rsus)
            if fresh and all(d == 0 for d in depths):
                break
            await asyncio.sleep(1.0)
        return self.now() - start

    def account(self) -> list[OutboxAccount]:
        store = Store(self.rig.db_url, schema=self.rig.schema)
        try:
            keys = store.outbox_keys()
            acks = store.acks()
            per_rsu_events = Counter(e.rsu_id for e in store.events(limit=10_000_000))
            live, deleted = store.load_zones()
        finally:
            store.close()
        self.acks = acks
        self.final_versions = {z.zone_id: z.version for z in live} | deleted
        accounts = []
        for name, rsu_id in self.rig.rsu_ids.items():
            path = self.rig.outbox_paths[name]
            db = sqlite3.connect(path)
            try:
                row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
                numbered = int(row[0]) if row else 0
                pending = int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
            finally:
                db.close()
            accounts.append(
                OutboxAccount(
                    rsu_id,
                    numbered,
                    pending,
                    per_rsu_events[rsu_id],
                    sum(1 for a in acks if a[0] == rsu_id),
                    frozenset(s for r, s in keys if r == rsu_id),
                )
            )
        return accounts

    def tracking_figures(self) -> dict[str, Any]:
        """RSU b's tracking as the watching vehicle saw it: the longest stretch without objects
        outside the clock-skew windows (a bad datagram or a flood must not cost more than a
        second of tracking), and how long tracking took to come back after each skew."""
        skews = [f for f in self.faults if f.kind is FaultKind.CLOCK_SKEW]
        frames = [(t, n) for t, n in self.tracking if t >= self.warmup_s]
        worst_outside = 0.0
        last_seen: float | None = None
        for t, n in frames:
            if n > 0:
                if last_seen is not None:
                    gap = t - last_seen
                    in_skew = any(f.start_s - 1.0 <= t <= f.end_s + 5.0 for f in skews)
                    if not in_skew:
                        worst_outside = max(worst_outside, gap)
                last_seen = t
        recovery = []
        for f in skews:
            back = next((t for t, n in frames if t >= f.end_s and n > 0), None)
            recovery.append(None if back is None else round(back - f.end_s, 2))
        return {
            "frames": len(frames),
            "frames_with_objects": sum(1 for _, n in frames if n > 0),
            "longest_gap_outside_skew_s": round(worst_outside, 2),
            "recovery_after_skew_s": recovery,
        }


def _fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; returns the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


@contextlib.asynccontextmanager
async def _tasks(*coros: Any) -> AsyncIterator[list[asyncio.Task[Any]]]:
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        yield tasks
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_soak(
    db_url: str, duration_s: float, warmup_s: float, drain_s: float, work: Path, disk_size: str
) -> dict[str, Any]:
    # The vehicles' reconnects are the soak's own doing: their INFO lines would drown the progress.
    logging.getLogger("vehicle").setLevel(logging.WARNING)
    rig = _build(work, db_url, disk_size)
    soak = Soak(rig, duration_s, warmup_s, drain_s)
    _log(f"run {rig.run_id}: {duration_s:.0f} s, warm-up {warmup_s:.0f} s, work in {work}")
    try:
        await soak.start()
        loops = (
            soak.sample_loop(),
            soak.faults_loop(),
            soak.sensors_loop(),
            soak.tracking_loop(),
            soak.reports_loop(),
            soak.churn_loop(),
            soak.zones_loop(),
            soak.flood_loop(),
        )
        async with _tasks(*loops) as tasks:
            await asyncio.sleep(max(0.0, duration_s - soak.now()))
            soak.done.set()
            # Loops that died early are the harness's own failure: say so.
            for t in tasks:
                if t.done() and not t.cancelled() and t.exception() is not None:
                    _log(f"a soak loop failed: {t.exception()!r}")
        # Any fault still open (a restart pending) is closed before the drain.
        for d in [rig.broker, *rig.daemons]:
            if d.proc is None:
                await soak._restart(d)
        if rig.disk is not None:
            (rig.disk / "filler").unlink(missing_ok=True)
        soak.skew_ns = 0
        _log(f"{soak.now():6.1f} s load stopped; draining the outboxes")
        drain_took = await soak.drain()
        run_s = soak.now()
        for d in rig.rsus.values():
            await d.stop()
        accounts = await asyncio.to_thread(soak.account)
        for d in rig.workers:
            await d.stop()
        await rig.broker.stop()
    finally:
        await soak.stop()
        cleanup = Store(db_url, schema=rig.schema)
        try:
            await asyncio.to_thread(cleanup.drop_schema)
        finally:
            cleanup.close()
        if rig.disk is not None:
            await asyncio.to_thread(subprocess.run, ["umount", "-l", str(rig.disk)], check=False)
    return _result(soak, accounts, drain_took, run_s)


def _result(
    soak: Soak, accounts: list[OutboxAccount], drain_s: float, run_s: float
) -> dict[str, Any]:
    rig, ledger = soak.rig, soak.ledger
    applied = {
        a.rsu_id: [v for r, _, _, v, status in soak.acks if r == a.rsu_id and status == "applied"]
        for a in accounts
    }
    twice = sum(applied_twice(applied[a.rsu_id], soak.final_versions) for a in accounts)
    min_span = max(20.0, 0.25 * soak.duration_s)
    growth: dict[str, float] = {}
    for d in rig.daemons:
        for instance, samples in d.samples.items():
            start = d.started_at_s[instance - 1]
            pct = memory_growth_pct(samples, max(soak.warmup_s, start + soak.warmup_s), min_span)
            if pct is not None:
                growth[f"{d.name}#{instance}"] = round(pct, 1)
    stored = sum(a.stored_events + a.stored_acks for a in accounts)
    task_metric = sum(_sum(s, "vicoop_rsu_task_failures_total") for s in soak.last_scrapes.values())
    task_logged = sum(d.logged_task_failures() for d in rig.daemons)
    return {
        "minutes": round(soak.duration_s / 60, 2),
        "daemon_deaths": len(ledger.deaths),
        "task_deaths": max(task_logged, int(task_metric)),
        "events_accepted": sum(a.numbered - a.stored_acks for a in accounts),
        "events_stored": sum(a.stored_events for a in accounts),
        "events_lost": sum(a.lost for a in accounts),
        "applied_twice": twice,
        "outbox_msgs_per_s": round(stored / run_s, 2) if run_s > 0 else None,
        "memory_growth_pct": max(growth.values()) if growth else None,
        "events_rejected": ledger.report_calls.get("unavailable", 0),
        "acks_stored": sum(a.stored_acks for a in accounts),
        "outbox_pending_end": sum(a.pending for a in accounts),
        "outbox": [
            {
                "rsu_id": a.rsu_id,
                "numbered": a.numbered,
                "stored_events": a.stored_events,
                "stored_acks": a.stored_acks,
                "pending": a.pending,
                "lost": a.lost,
                "missing_first": a.missing[:20],
            }
            for a in accounts
        ],
        "faults": dict(soak.faults_done),
        "restarts": dict(ledger.restarts),
        "deaths": ledger.deaths,
        "stop_status": {d.name: d.stop_status for d in rig.daemons},
        "reports": dict(ledger.report_calls),
        "floods_sent": sum(ledger.floods_sent.values()),
        "floods_by_input": dict(ledger.floods_sent),
        "flood_surprises": dict(ledger.flood_surprises),
        "rejected_by_daemons": soak.rejected_by_daemons(),
        "zone_edits": dict(ledger.zone_edits),
        "zone_versions": soak.final_versions,
        "applied_by_version": {r: dict(sorted(Counter(v).items())) for r, v in applied.items()},
        "zone_versions_answered": {z: max(v) for z, v in ledger.zone_versions.items()},
        "churn": dict(ledger.churn),
        "tracking": soak.tracking_figures(),
        "task_failures_logged": task_logged,
        "memory_growth_by_process_pct": growth,
        "drain_s": round(drain_s, 1),
        "series": soak.series,
    }


def _run(args: argparse.Namespace) -> int:
    duration_s = args.seconds if args.seconds is not None else args.minutes * 60.0
    warmup_s = args.warmup if args.warmup is not None else min(30.0, max(8.0, duration_s / 10))
    with tempfile.TemporaryDirectory(prefix="vicoop-soak-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(
            run_soak(args.db_url, duration_s, warmup_s, args.drain, work, args.disk_size)
        )
    if not args.series:
        result.pop("series")
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def add_parser(benches: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = benches.add_parser("soak", help="fault and soak suite: real processes, faults, an account")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--seconds", type=float, default=None, help="overrides --minutes")
    p.add_argument("--warmup", type=float, default=None, help="s (default: a tenth, 8..30)")
    p.add_argument("--drain", type=float, default=60.0, help="s at most to drain the outboxes")
    p.add_argument(
        "--db-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL for the twin (a schema of the run's own, dropped at the end)",
    )
    p.add_argument("--disk-size", default="2m", help="tmpfs size of RSU a's outbox disk")
    p.add_argument("--keep", default=None, help="keep configs and logs in this folder")
    p.add_argument("--series", action="store_true", help="put the sampled time series in the JSON")
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(run=_run)
