"""The rig: SUMO drives simulated sensors into real RSU daemons; vehicle clients score what
they receive.

Two ways to keep time:

- real time: each SUMO step is taken when the wall clock reaches it; sensor datagrams leave at
  measurement time + latency (wall time), the RSU runs its own publish loop on wall time (as a
  process of its own by default), and latency is what a vehicle would see.
- lock-step (as fast as possible): simulation time is the only clock. Each step: SUMO advances,
  the sensors' datagrams due by then are sent over UDP and the rig waits until the RSU has taken
  every one, the rig publishes the RSU's tick for that time (the daemon runs ``stepped`` in this
  process, its clock the simulation's) and waits until every vehicle client has received it. So
  neither SUMO nor the stack can run ahead of the other. Latency is then the stack's own
  processing time (wall time from publishing a tick to receiving it).

In both, when an RSU's cloud link takes its signal states from a controller
(``cloud.signals.source: controller``), the rig is that controller: every step it reads the
junction's traffic lights from SUMO (``hil.signals``) and sends their state to the RSU's signal
input like a sensor datagram; a junction without a traffic light gets nothing.

The rig also measures SPaT (``hil.rigspat``): an RSU at a signalised junction gets the
junction's MAP and its traffic light as a controller, and a vehicle client's ``StreamSpat``
updates are judged against SUMO's light; the result's ``spat``. In lock-step the controller is
``sumo`` (libsumo), read once a step after SUMO has advanced (``spat_at``); in real time it is
``udp_json``, the rig sending the light's state as a controller would, right after each step.
With ``--glosa FRACTION`` (lock-step) that share of SUMO's vehicles follow the speed advisory
computed from the MAP and SPaT that client received (``hil.glosa``); the result's ``glosa``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hil.barrier import LockstepBarrier
from hil.errors import HilError
from hil.faults import (
    Evidence,
    Fault,
    SensorSilent,
    StalledClient,
    VehicleLinkFault,
    make_faults,
    schedule,
)
from hil.geo import NetToEnu
from hil.glosa import GLOSA_EVENTS, GlosaRig, validate_fraction
from hil.glosa import sumo_args as glosa_sumo_args
from hil.intersection import read_net
from hil.links import TcpProxy
from hil.participants import (
    Probe,
    ProbeData,
    ProbeSpec,
    SensorFeed,
    UdpSender,
    VehicleProcess,
)
from hil.ports import free_port, rsu_config
from hil.result import (
    LatencySplit,
    MapData,
    Percentiles,
    ReportSeries,
    RsuResult,
    RunResult,
    SensorFigures,
    UdpLinkFigures,
)
from hil.rigspat import LANE_EVERY, RigSpat, SpatProbe, spat_figures, with_spat
from hil.rsu import RsuHandle, RsuLaunch, choose_mode
from hil.scoring import TrackingScore, score
from hil.signals import JunctionSignals
from hil.site import Site, SiteRsu, intersection_id
from hil.spat import SumoSignalController
from hil.sumo import SumoSim, net_file
from hil.truth import FloatArray, TruthHistory
from roadside.config import RsuConfig
from roadside.fusion.base import Coverage
from roadside.ingest import signal as signal_format
from roadside.sources.fused import camera_coverage, radar_coverage
from vicoop.cloudmodel import SignalState
from vicoop.model import NS_PER_S, SensorKind

log = logging.getLogger(__name__)

LOCKSTEP_EPOCH_NS = 1_700_000_000 * NS_PER_S


@dataclass(frozen=True)
class RigOptions:
    """How to run a scenario (see ``vicoop hil run --help``)."""

    sumocfg: Path
    site: Site
    duration_s: float = 60.0
    realtime: bool = False
    faults: tuple[str, ...] = ()
    clients: int = 10
    # A name in hil.rsu.MODES: "process" (real time default), "inprocess" (lock-step, and the
    # demo), "external" (--rsu HOST:PORT, given as rsu_target); "auto" picks one of these.
    rsu_mode: str = "auto"
    rsu_target: str | None = None
    # Simulated seconds SUMO runs before the rig starts, so traffic is flowing.
    warmup_s: float = 60.0
    seed: int = 1
    match_m: float = 2.0
    workdir: Path = field(default_factory=lambda: Path("."))
    # The site file the site was read from (or generated into), for the result.
    site_file: Path | None = None
    # Run on this net instead of the scenario's own (``--actuated``: its lights rebuilt).
    net: Path | None = None
    # The share of SUMO's vehicles that follow GLOSA advice (``--glosa``, lock-step; hil.glosa).
    glosa: float | None = None


@dataclass
class _RsuRun:
    """One RSU of the run: its site entry and configuration (every port set), the net -> ENU
    transform, its simulated sensors, its handle, the ground truth it was scored against and
    the vehicle clients subscribed to it (the first one scores)."""

    site: SiteRsu
    config: RsuConfig
    to_enu: NetToEnu
    feed: SensorFeed
    handle: RsuHandle
    history: TruthHistory = field(default_factory=TruthHistory)
    proxy: TcpProxy | None = None
    probes: list[Probe | ProbeData] = field(default_factory=list)
    # The junction's traffic lights, sent to the RSU's signal input on signal_port (None: the
    # RSU takes no controller states, or the junction has no traffic light).
    signals: JunctionSignals | None = None
    signal_port: int = 0
    signals_sent: int = 0
    # SUMO's state of the junction's lights at each change (colours or expected change), as sent.
    signal_changes: list[SignalState] = field(default_factory=list)
    # The SPaT the rig measures (lock-step, a signalised junction; see hil.rigspat).
    spat: RigSpat | None = None

    @property
    def vehicle_target(self) -> str:
        return self.proxy.target if self.proxy is not None else self.handle.target

    @functools.cached_property
    def coverages(self) -> list[tuple[SensorKind, Coverage]]:
        """Every sensor's coverage on the ground, with its kind (built once: scoring asks for
        every frame)."""
        src = self.site.sensors
        radars = [(SensorKind.RADAR, radar_coverage(r)) for r in src.radars]
        cameras = [(SensorKind.CAMERA, camera_coverage(c)) for c in src.cameras]
        return radars + [(k, c) for k, c in cameras if c is not None]

    def coverage_contains(self, xy: FloatArray, kind: SensorKind | None = None) -> np.ndarray:
        """Which ground points (ENU, m) some sensor covers; of one ``kind`` when given."""
        inside = np.zeros(len(xy), dtype=bool)
        for k, c in self.coverages:
            if kind in (None, k):
                inside |= c.contains(xy)
        return inside


class Rig:
    """One run of a scenario; ``await Rig(options).run()`` returns its ``RunResult``.

    The rig is what the faults act on (``hil.faults.FaultTarget``); the RSUs are handles of the
    chosen ``hil.rsu`` mode, their ports from ``hil.ports``, lock-step held by a
    ``LockstepBarrier``."""

    def __init__(self, options: RigOptions) -> None:
        self.o = options
        self.faults: list[Fault] = make_faults(options.faults) if options.faults else []
        schedule(self.faults, options.duration_s)
        self.mode = choose_mode(
            options.rsu_mode, options.realtime, options.rsu_target, len(options.site.rsus)
        )
        self.realtime = options.realtime
        self.sim_ns = LOCKSTEP_EPOCH_NS
        self.t0_ns = 0
        self.rsus: list[_RsuRun] = []
        self.barrier = LockstepBarrier()
        self.stalled: Probe | None = None
        self.vehicles: VehicleProcess | None = None
        self.spat_vehicles: VehicleProcess | None = None  # real time: the SPaT clients
        self._background: set[asyncio.Future[Any]] = set()
        self._rsu_op: asyncio.Future[None] | None = None
        self.on_ready: Callable[[list[str]], Awaitable[None]] | None = None
        self.stop_event = asyncio.Event()
        self._net: Any = None  # the SUMO net (sumolib), read once when the rig measures SPaT
        self.glosa: GlosaRig | None = None
        if options.glosa is not None:
            validate_fraction(options.glosa)
            if options.realtime:
                raise HilError("--glosa needs lock-step (the rig's SPaT), not --realtime")

    # -- FaultTarget ---------------------------------------------------------------------------

    def set_sensor_silent(self, kind: SensorKind, silent: bool) -> None:
        for r in self.rsus:
            (r.feed.silent.add if silent else r.feed.silent.discard)(kind)

    def set_clutter(self, per_scan: float | None) -> None:
        for r in self.rsus:
            r.feed.clutter_per_scan = per_scan

    def set_udp_link(self, loss: float, reorder: float, reorder_delay_ms: float) -> None:
        for r in self.rsus:
            r.feed.link.loss, r.feed.link.reorder = loss, reorder
            r.feed.link.reorder_delay_ns = round(reorder_delay_ms * 1e6)

    def set_vehicle_link(self, delay_s: float, down: bool) -> None:
        for r in self.rsus:
            if r.proxy is not None:
                r.proxy.delay_s = delay_s
                r.proxy.down() if down else r.proxy.up()

    def stall_client(self, stalled: bool) -> None:
        if self.vehicles is not None:
            self.vehicles.stall("vehicle-stalled", stalled)
        elif self.stalled is not None:
            self.stalled.record.stalled = True
            (self.stalled.reading.clear if stalled else self.stalled.reading.set)()

    def stop_rsu(self) -> None:
        if self.mode.remote:
            raise HilError("rsu_restart needs an RSU the rig started (not --rsu)")
        for r in self.rsus:
            self._in_turn(r.handle.stop)

    def start_rsu(self) -> None:
        for r in self.rsus:
            self._in_turn(r.handle.start)

    def _in_turn(self, op: Callable[[], Awaitable[None]]) -> None:
        # RSU stops and starts run one after another: a start waits until the old process has
        # exited and freed its ports.
        previous = self._rsu_op

        async def run() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            await op()

        self._rsu_op = asyncio.ensure_future(run())
        self._background.add(self._rsu_op)
        self._rsu_op.add_done_callback(self._background.discard)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- setting up ----------------------------------------------------------------------------

    def _clock(self) -> int:
        return self.sim_ns

    def _configure(self, sumo: SumoSim, site_rsu: SiteRsu, index: int) -> _RsuRun:
        o = self.o
        config, ports = rsu_config(site_rsu, fixed=self.mode.remote)
        clock = time.time_ns if self.realtime else self._clock
        if o.site.geo_referenced:
            to_enu = NetToEnu.fit(
                sumo.to_lonlat, site_rsu.rsu.origin.to_model(), site_rsu.junction_xy_m
            )
        else:
            to_enu = NetToEnu.translation(site_rsu.junction_xy_m)
        spat = None
        if not self.mode.remote:
            # Lock-step: the in-process RSU reads SUMO's light itself (the libsumo adapter);
            # real time: the rig sends it to the RSU's udp_json controller input.
            if self._net is None:
                self._net = read_net(o.net or net_file(o.sumocfg))
            feed_port = free_port() if self.realtime else None
            junction = site_rsu.junction
            spat = with_spat(
                config, self._net, junction, intersection_id(junction), to_enu, feed_port
            )
            if spat is not None:
                config = spat[0]
                if o.glosa is not None:  # advisories plan over a whole cycle
                    events = config.spat.model_copy(update={"events_per_group": GLOSA_EVENTS})
                    config = config.model_copy(update={"spat": events})
        launch = RsuLaunch(o.workdir, clock, stepped=not self.realtime, target=o.rsu_target)
        handle = self.mode.make(config, launch)
        feed = SensorFeed(site_rsu, handle.host, dict(ports.sensors), 0, o.seed * 100 + index)
        run = _RsuRun(site_rsu, config, to_enu, feed, handle)
        if spat is not None:
            wall: dict[int, int] = {}
            run.spat = RigSpat(
                spat[1],
                SumoSignalController(spat[1], step_ns=round(o.site.step_length_s * NS_PER_S)),
                SpatProbe(f"vehicle-spat-{index + 1}", run.vehicle_target, wall, clock),
                wall,
                feed_port=feed_port or 0,
            )
        links = sumo.signal_links(site_rsu.junction) if ports.signal else []
        if links:
            ids = [i.intersection_id for i in config.cloud.intersections]
            # The RSU's ENU origin is its junction's centre: the intersection named after the
            # junction, else its first one.
            intersection = site_rsu.junction if site_rsu.junction in ids else ids[0]
            run.signals = JunctionSignals.build(intersection, links, to_enu)
            run.signal_port = ports.signal
        return run

    def _make_probes(self) -> None:
        n = max(self.o.clients, len(self.rsus))
        for i in range(n):
            r = self.rsus[i % len(self.rsus)]
            r.probes.append(
                Probe(
                    f"vehicle-{i + 1}",
                    r.vehicle_target,
                    round(NS_PER_S / r.config.publish.rate_hz),
                    self.t0_ns,
                    keep_tracks=len(r.probes) == 0,
                    realtime=self.realtime,
                    published_wall=self.barrier.published_wall,
                    sim_clock=self._clock,
                )
            )
        if any(isinstance(f, StalledClient) for f in self.faults):
            r = self.rsus[0]
            self.stalled = Probe(
                "vehicle-stalled",
                r.vehicle_target,
                round(NS_PER_S / r.config.publish.rate_hz),
                self.t0_ns,
                False,
                self.realtime,
                self.barrier.published_wall,
                self._clock,
            )
            self.stalled.record.stalled = True
            r.probes.append(self.stalled)

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        o = self.o
        tripinfo = o.workdir / "glosa.tripinfo.xml"
        extra = tuple(glosa_sumo_args(tripinfo)) if o.glosa is not None else ()
        sumo = SumoSim(o.sumocfg, o.site.step_length_s, seed=o.seed, net=o.net, extra_args=extra)
        sumo.start()
        try:
            for _ in range(round(o.warmup_s / o.site.step_length_s)):
                sumo.step()
            self.rsus = [self._configure(sumo, s, i) for i, s in enumerate(o.site.rsus)]
            for r in self.rsus:
                sumo.watch(r.site.junction, o.site.watch_radius_m)
            if o.glosa is not None:
                if not any(r.spat is not None for r in self.rsus):
                    raise HilError(f"--glosa: {self._spat_not_measured()}")
                self.glosa = GlosaRig(o.glosa, o.seed, tripinfo, sumo.time_s)
            sender = UdpSender(self.rsus[0].feed.host, self.realtime)
            try:
                result = await self._run_with(sumo, sender)
            finally:
                sender.close()
        finally:
            sumo.close()
        if self.glosa is not None:  # SUMO has written its tripinfo
            result = replace(result, glosa=self.glosa.figures())
        return result

    async def _run_with(self, sumo: SumoSim, sender: UdpSender) -> RunResult:
        o = self.o
        step_ns = round(o.site.step_length_s * NS_PER_S)
        started = []
        try:
            for r in self.rsus:
                await r.handle.start()
                started.append(r)
                if any(isinstance(f, VehicleLinkFault) for f in self.faults):
                    host, port = r.handle.target.rsplit(":", 1)
                    r.proxy = TcpProxy(host, int(port))
                    await r.proxy.start()
            self._make_probes()
            if self.realtime:
                self.vehicles = VehicleProcess(
                    [
                        ProbeSpec(p.name, p.target, p.period_ns, p.keep_tracks, p.record.stalled)
                        for r in self.rsus
                        for p in r.probes
                        if isinstance(p, Probe)
                    ]
                )
                await self.vehicles.start()
                # The SPaT clients in a vehicle process of their own: their receive times held
                # up neither by SUMO and the sensors nor by the frame clients' decoding. The
                # rig's own SPaT clients only read the MAP (lane matching) and follow along.
                spat_specs = [(r.spat.probe.name, r.spat.probe.target) for r in self.rsus if r.spat]
                if spat_specs:
                    self.spat_vehicles = VehicleProcess([], spat_specs)
                    await self.spat_vehicles.start()
            self.t0_ns = (time.time_ns() + NS_PER_S // 2) if self.realtime else LOCKSTEP_EPOCH_NS
            self.t0_ns -= self.t0_ns % step_ns
            for r in self.rsus:
                r.feed.start_ns = self.t0_ns
                for st in r.feed.state.values():
                    st.next_ns = self.t0_ns
            if self.spat_vehicles is not None:
                self.spat_vehicles.begin(self.t0_ns)
            if self.vehicles is not None:
                self.vehicles.begin(self.t0_ns)
            else:
                for r in self.rsus:
                    probes = [p for p in r.probes if isinstance(p, Probe)]
                    for p in probes:
                        p.t0_ns = self.t0_ns
                        p.start()
                    self.barrier.add(r.handle, probes, self.stalled)
            for r in self.rsus:
                if r.spat is not None:
                    r.spat.probe.start()
            if not self.realtime:
                # Lock-step: a first tick before the start, until every client has it.
                self.sim_ns = self.t0_ns - NS_PER_S
                await self.barrier.connect(self.sim_ns)
                # And a first SPaT, at the step before the start (where SUMO is now).
                self.sim_ns = self.t0_ns - step_ns
                for r in self.rsus:
                    if r.spat is not None:
                        await r.spat.publish(r.handle, self.sim_ns, timeout_s=30.0)
            if self.on_ready is not None:
                self._spawn(self.on_ready([r.vehicle_target for r in self.rsus]))
            wall_start = time.monotonic()
            steps = round(o.duration_s / o.site.step_length_s)
            await self._loop(sumo, sender, steps, step_ns)
            wall_s = time.monotonic() - wall_start
            if self.realtime:
                await asyncio.sleep(0.3)  # the last frames in flight
            if self.vehicles is not None:
                data = {d.name: d for d in await self.vehicles.stop()}
                for r in self.rsus:
                    r.probes = [data[p.name] for p in r.probes]
            if self.spat_vehicles is not None:
                await self.spat_vehicles.stop()
                spat_data = self.spat_vehicles.spat_data
                for r in self.rsus:
                    if r.spat is not None and r.spat.probe.name in spat_data:
                        r.spat.probe.adopt(spat_data[r.spat.probe.name])
        finally:
            for process in (self.vehicles, self.spat_vehicles):
                if process is not None and process.proc.is_alive():
                    process.proc.kill()
            await asyncio.gather(
                *(p.stop() for r in self.rsus for p in r.probes if isinstance(p, Probe)),
                *(r.spat.probe.stop() for r in self.rsus if r.spat is not None),
            )
            for task in list(self._background):
                with contextlib.suppress(Exception):
                    await task
            for r in started:
                await r.handle.stop()
                if r.proxy is not None:
                    await r.proxy.stop()
        return self._result(wall_s)

    async def _loop(self, sumo: SumoSim, sender: UdpSender, steps: int, step_ns: int) -> None:
        loop = asyncio.get_running_loop()
        mono0 = loop.time() + (self.t0_ns - time.time_ns()) / NS_PER_S
        pending = sorted(((f.start_s, 0, f) for f in self.faults), key=lambda x: x[0])
        events: list[tuple[float, int, Fault]] = [*pending, *((f.end_s, 1, f) for f in self.faults)]
        events.sort(key=lambda e: (e[0], e[1]))
        for k in range(steps):
            if self.stop_event.is_set():
                break
            t_ns = self.t0_ns + k * step_ns
            t_s = k * step_ns / NS_PER_S
            if self.realtime:
                delay = mono0 + t_s - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            self.sim_ns = t_ns
            while events and events[0][0] <= t_s + 1e-9:
                _, is_end, fault = events.pop(0)
                log.info("fault %s %s at %.1f s", fault.name, "ends" if is_end else "begins", t_s)
                fault.end(self) if is_end else fault.begin(self)
            sumo.step()
            stepped_wall = time.time_ns()
            handled_before = 0 if self.realtime else self.barrier.datagrams_handled()
            for r in self.rsus:
                if r.spat is not None:
                    r.spat.observe(t_ns, stepped_wall)
                    if r.spat.feed_port:  # real time: the controller's datagram, right away
                        tls = r.spat.intersection.tls_id
                        data = r.spat.feed_datagram(sumo.signal_program(tls), sumo.time_s)
                        sender.send(r.spat.feed_port, data)
                    if k % LANE_EVERY == 0:
                        r.spat.sample_lanes(sumo.vehicle_lanes(r.site.junction, r.to_enu))
                truth = sumo.road_users(r.site.junction, r.to_enu, t_ns)
                r.history.add(truth)
                for arrive, port, data in r.feed.measure(truth):
                    sender.submit(arrive, port, data)
                if r.signals is not None:
                    self._send_signals(sumo, sender, r, r.signals, t_ns)
            if not self.realtime:
                # The RSUs' SPaT for this step (their controllers read once), then every
                # datagram due by now reaches the RSUs before their tick.
                for r in self.rsus:
                    if r.spat is not None:
                        await r.spat.publish(r.handle, t_ns)
                if self.glosa is not None:
                    spats = [(r.spat, r.to_enu) for r in self.rsus if r.spat is not None]
                    self.glosa.step(sumo, spats, t_ns, k)
                sent = sender.flush(t_ns)
                await self.barrier.step(t_ns, handled_before, sent)
            if sumo.expected_remaining() == 0:
                log.info("the scenario ended after %.1f s", t_s)
                break

    def _send_signals(
        self, sumo: SumoSim, sender: UdpSender, r: _RsuRun, signals: JunctionSignals, t_ns: int
    ) -> None:
        # A controller's datagram every step, as it is at that step (the RSU publishes changes).
        programs = {tls: sumo.signal_program(tls) for tls in signals.tls_ids}
        state = signals.state(programs, sumo.time_s, t_ns)
        last = r.signal_changes[-1] if r.signal_changes else None
        if last is None or (last.groups != state.groups):
            r.signal_changes.append(state)
        r.signals_sent += 1
        sender.submit(t_ns, r.signal_port, signal_format.encode(state, r.signals_sent))

    # -- results -------------------------------------------------------------------------------

    def _result(self, wall_s: float) -> RunResult:
        o = self.o
        per_rsu: dict[str, RsuResult] = {}
        scores: list[TrackingScore] = []
        for r in self.rsus:
            s = score(
                r.probes[0].frames, r.history, r.coverage_contains, o.match_m, start_ns=self.t0_ns
            )
            scores.append(s)
            per_rsu[r.config.rsu_id] = RsuResult(
                score=s,
                target=r.handle.target,
                sensors=_sensor_figures(r),
                udp_link=UdpLinkFigures(r.feed.link.sent, r.feed.link.lost, r.feed.link.reordered),
                signal_states_sent=r.signals_sent,
            )
        probes = [p for r in self.rsus for p in r.probes]
        clean = [p for p in probes if not p.record.stalled]
        windows = [(f.start_s, f.end_s + f.recovery_s) for f in self.faults]

        def in_fault(t: float) -> bool:
            return any(a - 0.5 <= t < b for a, b in windows)

        latencies = [lat for p in clean for _, lat, _ in p.record.frames]
        latencies_clean = [lat for p in clean for t, lat, _ in p.record.frames if not in_fault(t)]
        main = scores[0]
        first = self.rsus[0]
        # While one kind of sensor is silent, tracking is scored inside the others' coverage.
        others = {f.other for f in self.faults if isinstance(f, SensorSilent)}
        coverage_timelines = {
            kind: score(
                first.probes[0].frames,
                first.history,
                functools.partial(first.coverage_contains, kind=kind),
                o.match_m,
                start_ns=self.t0_ns,
            ).timeline
            for kind in others
        }
        ev = Evidence(
            probes=[p.record for p in probes],
            health=first.probes[0].health,
            timeline=main.timeline,
            silent_after_s=first.site.sensors.silent_after_s,
            period_s=1.0 / first.config.publish.rate_hz,
            coverage_timelines=coverage_timelines,
        )
        scorers = [r.probes[0] for r in self.rsus]
        spats = [r.spat for r in self.rsus if r.spat is not None]
        return RunResult(
            scenario=str(o.sumocfg),
            mode="realtime" if self.realtime else "lockstep",
            rsu_mode=self.mode.name,
            duration_s=o.duration_s,
            wall_s=round(wall_s, 3),
            vehicle_clients=len(probes),
            mota=_fin(_weighted(scores, "mota")),
            idf1=_fin(_weighted(scores, "idf1")),
            hota=_fin(_weighted(scores, "hota")),
            position_rmse_m=_fin(_weighted(scores, "position_rmse_m")),
            velocity_rmse_mps=_fin(_weighted(scores, "velocity_rmse_mps")),
            latency_ms=Percentiles.of(latencies),
            latency_basis="receive - valid_at (wall clock)"
            if self.realtime
            else "receive - publish call (wall clock; lock-step)",
            latency_ms_outside_faults=Percentiles.of(latencies_clean),
            measurement_to_vehicle_ms=Percentiles.of([x for p in scorers for _, x in p.newest]),
            latency_split_ms=LatencySplit(
                tick_to_published=Percentiles.of([a for p in scorers for a, _ in p.split]),
                published_to_received=Percentiles.of([b for p in scorers for _, b in p.split]),
            ),
            frames_published={
                r.config.rsu_id: max((p.last_sequence for p in r.probes), default=0)
                for r in self.rsus
            },
            frames_received=sum(len(p.record.frames) for p in clean),
            frames_lost=sum(m for p in clean for _, m in p.record.gaps),
            frames_lost_outside_faults=sum(
                m for p in clean for t, m in p.record.gaps if not in_fault(t)
            ),
            frames_lost_outside_faults_at_s=sorted(
                (round(t, 2), m, p.record.name)
                for p in clean
                for t, m in p.record.gaps
                if not in_fault(t)
            )[:50],
            client_reconnects=sum(p.record.reconnects for p in clean),
            mota_outside_faults=_fin(_clean_mota(main.timeline, in_fault)),
            barrier_timeouts=self.barrier.timeouts,
            faults={f.name: f.report(ev) for f in self.faults},
            rsus=per_rsu,
            site_file=None if o.site_file is None else str(o.site_file),
            spat=spat_figures(spats, self.t0_ns) if spats else None,
            spat_not_measured=None if spats else self._spat_not_measured(),
            report=ReportSeries(
                latencies_ms=[round(x * 1000, 3) for x in latencies],
                latency_timeline=_latency_timeline(clean),
                timeline=main.timeline,
                fault_windows=[(f.name, f.start_s, f.end_s) for f in self.faults],
                map=_map_data(first, self.t0_ns),
            ),
        )

    def _spat_not_measured(self) -> str:
        if self.mode.remote:
            return (
                "SPaT is not measured with an RSU the rig did not start (--rsu): the rig "
                "cannot give it the MAP and the signal controller input"
            )
        return (
            "no RSU of the site is at a signalised junction whose site entry leaves SPaT and "
            "the MAP to the rig (an entry with spat.controllers or map.intersections of its "
            "own keeps them, unjudged)"
        )


def _sensor_figures(r: _RsuRun) -> dict[str, SensorFigures]:
    """Each of the RSU's simulated sensors, with its health in the scoring client's frames."""
    out: dict[str, SensorFigures] = {}
    rows = r.probes[0].health
    for sid, st in r.feed.state.items():
        hs = [h[2][sid][1].name for h in rows if sid in h[2]]
        out[sid] = SensorFigures(
            kind=st.kind.name.lower(),
            cycles_measured=st.counter,
            datagrams_sent=st.sent,
            silenced_by_fault=st.silenced,
            health_share={name: round(hs.count(name) / len(hs), 4) for name in sorted(set(hs))},
        )
    return out


def _latency_timeline(probes: list[Probe | ProbeData]) -> list[tuple[float, float]]:
    """(second, p50 latency ms) over every client's frames."""
    by_second: dict[int, list[float]] = {}
    for p in probes:
        for t, lat, _ in p.record.frames:
            by_second.setdefault(int(t), []).append(lat * 1000.0)
    return [(float(t), round(float(np.median(v)), 3)) for t, v in sorted(by_second.items())]


def _fin(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 4)


def _weighted(scores: list[TrackingScore], attr: str) -> float:
    vals = [
        (getattr(s, attr), s.ground_truth_objects)
        for s in scores
        if math.isfinite(getattr(s, attr))
    ]
    total = sum(w for _, w in vals)
    if not vals:
        return math.nan
    if total == 0:
        return float(np.mean([v for v, _ in vals]))
    return float(sum(v * w for v, w in vals) / total)


def _clean_mota(
    timeline: tuple[tuple[float, int, int, int, int, int], ...], in_fault: Callable[[float], bool]
) -> float:
    rows = [r for r in timeline if not in_fault(r[0])]
    gt = sum(r[1] for r in rows)
    return 1.0 - sum(r[3] + r[4] + r[5] for r in rows) / gt if gt else math.nan


def _map_data(r: _RsuRun, t0_ns: int) -> MapData:
    """Tracks and ground truth of the first RSU, thinned to 2 Hz, for the report's map."""
    truth: dict[int, list[tuple[float, float]]] = {}
    tracks: dict[int, list[tuple[float, float]]] = {}
    frames = r.probes[0].frames
    for f in frames[:: max(1, round(r.config.publish.rate_hz / 2))]:
        g = r.history.at(f.valid_at_ns)
        if g is not None:
            inside = r.coverage_contains(g.positions) if len(g) else np.zeros(0, dtype=bool)
            for i, xy in zip(g.ids[inside].tolist(), g.positions[inside].tolist(), strict=True):
                truth.setdefault(i, []).append((round(xy[0], 1), round(xy[1], 1)))
        for i, xy in zip(f.ids.tolist(), f.positions.tolist(), strict=True):
            tracks.setdefault(i, []).append((round(xy[0], 1), round(xy[1], 1)))
    src = r.site.sensors
    sensors = [
        ("radar", s.mounting.x_m, s.mounting.y_m, s.mounting.yaw_rad, s.half_fov_rad, s.max_range_m)
        for s in src.radars
    ]
    for c in src.cameras:
        cov = camera_coverage(c)
        if cov is not None:
            sensors.append(
                (
                    "camera",
                    cov.position[0],
                    cov.position[1],
                    cov.boresight_rad,
                    cov.half_fov_rad,
                    cov.max_range_m,
                )
            )
    return MapData(list(truth.values()), list(tracks.values()), sensors)
