"""The rig's async adapters: the sensor feed over UDP and the vehicle clients that record what
they receive (the RSU's are in ``hil.rsu``)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hil.faults import ProbeRecord
from hil.links import LossyLink
from hil.rsu import Clock
from hil.scoring import ReceivedFrame
from hil.sensors import CameraModel, measure_camera, measure_radar
from hil.site import SiteRsu
from hil.truth import GroundTruth
from roadside.ingest import camera as camera_format
from roadside.ingest import udp_radar
from vehicle import ReconnectPolicy, RoadsideClient
from vicoop.model import NS_PER_S, SensorHealth, SensorKind
from vicoop.spat import Spat

log = logging.getLogger(__name__)


# -- sensors ----------------------------------------------------------------------------------


@dataclass
class _SensorState:
    sensor_id: str
    kind: SensorKind
    port: int
    period_ns: int
    latency_ns: int
    next_ns: int
    counter: int = 0
    sent: int = 0
    silenced: int = 0


@dataclass
class SensorFeed:
    """One RSU's simulated sensors: measures ground truth on each sensor's schedule and turns
    each cycle into its datagram (VRAD radar, JSON camera), due at measurement time + latency."""

    site: SiteRsu
    host: str
    ports: dict[str, int]
    start_ns: int
    seed: int
    link: LossyLink = field(default_factory=LossyLink)
    silent: set[SensorKind] = field(default_factory=set)
    clutter_per_scan: float | None = None

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.link_rng = np.random.default_rng(self.seed + 1000)
        src = self.site.sensors
        self.radars = {r.sensor_id: r for r in src.radars}
        self.cameras = {c.sensor_id: CameraModel(c) for c in src.cameras}
        self.state: dict[str, _SensorState] = {}
        for r in src.radars:
            sim = self.site.radar_sim(r.sensor_id)
            period = round(NS_PER_S / sim.rate_hz)
            self.state[r.sensor_id] = _SensorState(
                r.sensor_id,
                SensorKind.RADAR,
                self.ports[r.sensor_id],
                period,
                round(sim.latency_ms * 1e6),
                self.start_ns,
            )
        for c in src.cameras:
            sim_c = self.site.camera_sim(c.sensor_id)
            period = round(NS_PER_S / sim_c.rate_hz)
            self.state[c.sensor_id] = _SensorState(
                c.sensor_id,
                SensorKind.CAMERA,
                self.ports[c.sensor_id],
                period,
                round(sim_c.latency_ms * 1e6),
                self.start_ns,
            )

    def measure(self, truth: GroundTruth) -> list[tuple[int, int, bytes]]:
        """Datagrams of every sensor due at ``truth.t_ns``: (arrival ns, port, bytes)."""
        out: list[tuple[int, int, bytes]] = []
        t = truth.t_ns
        for sid, st in self.state.items():
            if t < st.next_ns:
                continue
            st.next_ns += st.period_ns * max(1, (t - st.next_ns) // st.period_ns + 1)
            st.counter += 1
            if st.kind in self.silent:
                st.silenced += 1
                continue
            if st.kind == SensorKind.RADAR:
                r = measure_radar(
                    truth,
                    self.radars[sid],
                    self.site.radar_sim(sid),
                    self.rng,
                    None
                    if self.clutter_per_scan is None
                    else self.site.radar_sim(sid).clutter_per_scan * self.clutter_per_scan,
                )
                data = udp_radar.encode_arrays(
                    getattr(self.radars[sid].input, "wire_id", 1),
                    st.counter,
                    t,
                    r.ranges_m,
                    r.azimuths_rad,
                    r.radial_speeds_mps,
                    r.rcs_dbsm,
                )
            else:
                c = measure_camera(truth, self.cameras[sid], self.site.camera_sim(sid), self.rng)
                data = camera_format.encode(
                    sid, st.counter, t, c.boxes, c.classes.tolist(), c.scores.tolist()
                )
            st.sent += 1
            for arrive in self.link.route(t + st.latency_ns, self.link_rng):
                out.append((arrive, st.port, data))
        return out


class UdpSender:
    """Sends datagrams to the RSU's sensor inputs at their arrival times.

    In real time each is scheduled on the event loop at its wall time; in lock-step they wait in
    a heap until the rig's simulation clock reaches them (``flush``)."""

    def __init__(self, host: str, realtime: bool) -> None:
        self.host = host
        self.realtime = realtime
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self._heap: list[tuple[int, int, int, bytes]] = []
        self._n = 0
        self.sent = 0

    def close(self) -> None:
        self.sock.close()

    def _send(self, port: int, data: bytes) -> None:
        with contextlib.suppress(
            OSError
        ):  # nobody listening (RSU restarting): the datagram is lost
            self.sock.sendto(data, (self.host, port))
            self.sent += 1

    def send(self, port: int, data: bytes) -> None:
        """Send ``data`` to ``port`` now (a datagram that leaves when it is made)."""
        self._send(port, data)

    def submit(self, arrive_ns: int, port: int, data: bytes) -> None:
        if self.realtime:
            loop = asyncio.get_running_loop()
            delay = (arrive_ns - time.time_ns()) / NS_PER_S
            loop.call_at(loop.time() + max(0.0, delay), self._send, port, data)
        else:
            self._n += 1
            heapq.heappush(self._heap, (arrive_ns, self._n, port, data))

    def flush(self, now_ns: int) -> int:
        """Lock-step: send everything due by ``now_ns``; returns how many were sent."""
        n = 0
        while self._heap and self._heap[0][0] <= now_ns:
            _, _, port, data = heapq.heappop(self._heap)
            self._send(port, data)
            n += 1
        return n


# -- vehicle clients --------------------------------------------------------------------------


class Probe:
    """A vehicle client (the real vehicle library) recording what it receives.

    ``keep_tracks`` stores every frame's tracks and sensor health for scoring. Latency is the
    receive time minus the frame's ``valid_at`` (wall time in real time; in lock-step, wall time
    since the rig published that tick, looked up in ``published_wall``)."""

    def __init__(
        self,
        name: str,
        target: str,
        period_ns: int,
        t0_ns: int,
        keep_tracks: bool,
        realtime: bool,
        published_wall: dict[int, int] | None = None,
        sim_clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.target = target
        self.period_ns = period_ns
        self.t0_ns = t0_ns
        self.keep_tracks = keep_tracks
        self.realtime = realtime
        self.published_wall = published_wall if published_wall is not None else {}
        self.sim_clock = sim_clock
        self.record = ProbeRecord(name)
        self.frames: list[ReceivedFrame] = []
        self.health: list[tuple[float, int, dict[str, tuple[SensorKind, SensorHealth]]]] = []
        self.newest: list[tuple[float, float]] = []  # (t_s, receive - newest measurement, s)
        # (valid_at -> published by the RSU, published -> received), s: where the latency goes.
        self.split: list[tuple[float, float]] = []
        self.last_sequence = 0
        self.connected = False
        self.reading = asyncio.Event()
        self.reading.set()
        self._last: tuple[int, int] | None = None  # (sequence, valid_at)
        self.task: asyncio.Task[None] | None = None
        self._client: RoadsideClient | None = None
        self.stream_stats: object | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"probe-{self.name}")

    async def stop(self) -> None:
        """End the stream: close the client (its streams end) and cancel the task."""
        if self.task is None:
            return
        self.reading.set()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
        self.task.cancel()
        done, _ = await asyncio.wait({self.task}, timeout=5.0)
        if not done:
            log.warning("vehicle client %s did not stop within 5 s", self.name)
        elif not self.task.cancelled() and self.task.exception() is not None:
            log.warning("vehicle client %s ended with %r", self.name, self.task.exception())

    async def _run(self) -> None:
        clock = time.time_ns if self.realtime or self.sim_clock is None else self.sim_clock
        policy = ReconnectPolicy(initial_backoff_s=0.05, max_backoff_s=1.0)
        async with RoadsideClient(
            self.target, reconnect=policy, clock=clock, stale_after_s=1.0 if self.realtime else 30.0
        ) as rsu:
            self._client = rsu
            stream = rsu.perception(client_id=self.name)
            self.stream_stats = stream.stats
            async for frame in stream:
                wall = time.time_ns()
                self.connected = True
                self.last_sequence = frame.sequence
                if frame.valid_at_ns < self.t0_ns:
                    continue  # lock-step: the ticks published while the clients connect
                t_s = (frame.valid_at_ns - self.t0_ns) / NS_PER_S
                if self.realtime:
                    latency = (wall - frame.valid_at_ns) / NS_PER_S
                else:
                    latency = (wall - self.published_wall.get(frame.valid_at_ns, wall)) / NS_PER_S
                if self._last is not None:
                    # Lost: frames the RSU published that never came (sequence gaps) and ticks it
                    # never published (valid_at gaps on its tick grid), as a vehicle sees both.
                    missed = (
                        frame.sequence - self._last[0] - 1 if frame.sequence > self._last[0] else 0
                    )
                    if self.period_ns:
                        missed = max(
                            missed, round((frame.valid_at_ns - self._last[1]) / self.period_ns) - 1
                        )
                    if missed > 0:
                        self.record.gaps.append((t_s, missed))
                self._last = (frame.sequence, frame.valid_at_ns)
                self.record.frames.append((t_s, latency, len(frame.objects)))
                self.record.reconnects = stream.stats.reconnects
                self.last_sequence = frame.sequence
                if self.keep_tracks:
                    self.frames.append(
                        ReceivedFrame(
                            frame.valid_at_ns,
                            np.array([o.track_id for o in frame.objects], dtype=np.int64),
                            frame.positions[:, :2].copy(),
                            frame.velocities[:, :2].copy(),
                        )
                    )
                    self.health.append(
                        (
                            t_s,
                            len(frame.objects),
                            {s.sensor_id: (s.kind, s.health) for s in frame.sensors},
                        )
                    )
                    newest = max((s.last_measurement_ns for s in frame.sensors), default=0)
                    if newest and self.realtime:
                        self.newest.append((t_s, (wall - newest) / NS_PER_S))
                    if self.realtime:
                        self.split.append(
                            (
                                (frame.published_at_ns - frame.valid_at_ns) / NS_PER_S,
                                (wall - frame.published_at_ns) / NS_PER_S,
                            )
                        )
                if not self.reading.is_set():
                    await self.reading.wait()


# -- vehicle clients in a process of their own (real time) ------------------------------------


@dataclass
class ProbeSpec:
    name: str
    target: str
    period_ns: int
    keep_tracks: bool
    stalled: bool = False


@dataclass
class ProbeData:
    """What a probe in the vehicle process recorded (the attributes of ``Probe`` the rig reads)."""

    name: str
    record: ProbeRecord
    frames: list[ReceivedFrame]
    health: list[tuple[float, int, dict[str, tuple[SensorKind, SensorHealth]]]]
    newest: list[tuple[float, float]]
    split: list[tuple[float, float]]
    last_sequence: int


@dataclass
class SpatProbeData:
    """What a SPaT client in the vehicle process recorded (``hil.rigspat.SpatProbe``'s)."""

    name: str
    received: list[Spat]
    received_wall: list[int]
    updates: int


def _vehicle_process(conn: Any, specs: list[ProbeSpec], spat_specs: list[tuple[str, str]]) -> None:
    logging.basicConfig(level=logging.WARNING)
    # Reconnections are counted in the result; one line per client and attempt is noise here.
    logging.getLogger("vehicle.client").setLevel(logging.ERROR)
    asyncio.run(_vehicle_main(conn, specs, spat_specs))


async def _vehicle_main(
    conn: Any, specs: list[ProbeSpec], spat_specs: list[tuple[str, str]]
) -> None:
    from hil.rigspat import SpatProbe

    probes = {
        s.name: Probe(s.name, s.target, s.period_ns, 1 << 62, s.keep_tracks, realtime=True)
        for s in specs
    }
    spat_probes = [SpatProbe(name, target, {}, time.time_ns) for name, target in spat_specs]
    for s in specs:
        probes[s.name].record.stalled = s.stalled
    conn.send(("ready",))
    while True:
        cmd = await asyncio.to_thread(conn.recv)
        if cmd[0] == "start":
            for p in probes.values():
                p.t0_ns = cmd[1]
                p.start()
            for sp in spat_probes:
                sp.start()
        elif cmd[0] == "stall":
            reading = probes[cmd[1]].reading
            reading.clear() if cmd[2] else reading.set()
        elif cmd[0] == "stop":
            break
    await asyncio.gather(*(p.stop() for p in probes.values()), *(sp.stop() for sp in spat_probes))
    conn.send(
        (
            [
                ProbeData(p.name, p.record, p.frames, p.health, p.newest, p.split, p.last_sequence)
                for p in probes.values()
            ],
            [
                SpatProbeData(sp.name, sp.received, sp.received_wall, sp.updates)
                for sp in spat_probes
            ],
        )
    )


class VehicleProcess:
    """The vehicle clients of a real-time run in a process of their own (as vehicles are other
    machines): their receive times are not held up by SUMO and the sensor models."""

    def __init__(self, specs: list[ProbeSpec], spat_specs: Sequence[tuple[str, str]] = ()) -> None:
        """``spat_specs``: (name, target) of the SPaT clients (``StreamSpat``) to run too; what
        they received is ``spat_data`` after ``stop``."""
        import multiprocessing

        self.specs = specs
        self.spat_data: dict[str, SpatProbeData] = {}
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_vehicle_process,
            args=(child, specs, list(spat_specs)),
            name="hil-vehicles",
            daemon=True,
        )

    async def start(self) -> None:
        self.proc.start()
        ready = await asyncio.to_thread(self.conn.poll, 60.0)
        if not ready:
            raise RuntimeError("the vehicle process did not start")
        self.conn.recv()

    def begin(self, t0_ns: int) -> None:
        self.conn.send(("start", t0_ns))

    def stall(self, name: str, stalled: bool) -> None:
        self.conn.send(("stall", name, stalled))

    async def stop(self) -> list[ProbeData]:
        if not self.proc.is_alive():
            return []
        self.conn.send(("stop",))
        if not await asyncio.to_thread(self.conn.poll, 60.0):
            self.proc.kill()
            raise RuntimeError("the vehicle process did not report within 60 s of being stopped")
        data: list[ProbeData]
        spat: list[SpatProbeData]
        data, spat = await asyncio.to_thread(self.conn.recv)
        self.spat_data = {d.name: d for d in spat}
        await asyncio.to_thread(self.proc.join, 10.0)
        return data
