"""The RSU's live SPaT: each intersection's controller read, its SPaT predicted and sent to
vehicles (``StreamSpat``) at every change and at least ``refresh_hz`` times a second.

``SpatSource`` is the pure core for one intersection (time passed in): a reading in, the SPaT to
send now out (or None: nothing changed and the last one is recent). It times states with the
SPaT predictor when the controller gives a program of stages (SUMO; a site's own program), else
sends the controller's states with the controller's own bounds only (so does a controller
COORDINATED by the cloud through the RSU's safety supervisor; an NTCIP controller's
phase timing, a JSON feed whose ``next_change_ns`` is exact), never a guessed time. A stale
controller's groups are UNAVAILABLE (the adapter's ``StalePolicy``), and so is their SPaT.

``LiveSpat`` is the I/O edge: it starts the adapters, reads each one ``poll_hz`` times a second
and as soon as an adapter says its controller told it something new (``on_reading``: a JSON
datagram, an NTCIP poll's answer), so a change reaches vehicles without waiting for the next
poll, and publishes to the ``SpatFeed``. For an
intersection with a MAP, the road users the RSU tracks (``frame``: its latest published frame)
are the demand the predictor times actuated greens by (``roadside.spat.demand``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from roadside.controllers import ControllerAdapter, ControllerError, ControllerProgram
from roadside.controllers.base import ControllerWriter
from roadside.spat.demand import arrivals
from roadside.spat.predict import SpatPredictor
from roadside.spat.program import Phase, ProgramError, SignalProgram
from roadside.supervisor import SafetySupervisor, SupervisorConfig
from vicoop.intersection import IntersectionMap
from vicoop.model import PerceptionFrame
from vicoop.serving.spatfeed import SpatFeed
from vicoop.spat import ControllerReading, ControlMode, MovementEvent, MovementPhaseState, Spat

__all__ = ["LiveSpat", "SpatSource", "signal_program"]

log = logging.getLogger(__name__)

Clock = Callable[[], int]


_PROGRAMMED = (ControlMode.FIXED_TIME, ControlMode.ACTUATED, ControlMode.COORDINATED)


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def signal_program(program: ControllerProgram) -> SignalProgram | None:
    """The predictor's program from a controller's (its stages in order, consecutive stages
    that look the same from here merged); None when the controller gives no stages to walk."""
    if not program.stages:
        return None
    groups = tuple(
        sorted(
            {g for s in program.stages for g, _ in s.states}
            | {t.signal_group for t in program.groups}
        )
    )
    phases = []
    for stage in program.stages:
        states = dict(stage.states)
        phases.append(
            Phase(
                tuple(states.get(g, MovementPhaseState.UNAVAILABLE) for g in groups),
                _ns(stage.duration_s),
                _ns(min(stage.min_s, stage.duration_s)),
                _ns(max(stage.max_s, stage.duration_s)),
                str(stage.index),
            )
        )
    offset = _ns(program.offset_s or 0.0)
    return SignalProgram(groups, tuple(phases), program.mode, offset).merged()


@dataclass
class SpatSource:
    """One intersection's SPaT from its controller's readings. Pure; time passed in.

    ``update(reading, now_ns)`` gives the SPaT to send: at every change of a state or the mode,
    and otherwise once ``refresh_ns`` has passed since the last one sent."""

    intersection_id: str
    refresh_ns: int = 100_000_000
    predictor: SpatPredictor | None = None
    events_per_group: int = 2  # the predictor's (``SpatPredictor.events_per_group``)
    sent: int = 0
    changes: int = 0
    _last_key: tuple[object, ...] | None = None
    _last_sent_ns: int | None = None
    _revision: int = 0

    def use_program(self, program: SignalProgram | None) -> None:
        """Time states with ``program`` from now on (None: the controller's own bounds only)."""
        if program is None:
            self.predictor = None
        elif self.predictor is None or self.predictor.program != program:
            self.predictor = SpatPredictor(
                self.intersection_id, program, events_per_group=self.events_per_group
            )

    def update(
        self,
        reading: ControllerReading,
        now_ns: int,
        demand: Mapping[int, Sequence[float]] | None = None,
    ) -> Spat | None:
        """``demand``: per signal group, when its road users reach the detection point (s from
        ``now_ns``; ``roadside.spat.demand.arrivals``), or None when the RSU sees none."""
        # A coordinated controller's stage times are the coordinator's (through the safety
        # supervisor), not its program's: its SPaT carries its own bounds only.
        spat = (
            self.predictor.predict(reading, now_ns, demand)
            if self.predictor is not None and reading.mode is not ControlMode.COORDINATED
            else self._as_read(reading, now_ns)
        )
        key = spat.states
        changed = key != self._last_key
        due = self._last_sent_ns is None or now_ns - self._last_sent_ns >= self.refresh_ns
        if not changed and not due:
            return None
        if changed and self._last_key is not None:
            self.changes += 1
        self._last_key, self._last_sent_ns = key, now_ns
        self.sent += 1
        return spat

    def _as_read(self, reading: ControllerReading, now_ns: int) -> Spat:
        """The controller's states with its own bounds, where it gives them (nothing else)."""
        movements = []
        for g in reading.groups:
            lo, hi = g.min_end_ns, g.max_end_ns
            exact = lo is not None and lo == hi
            movements.append(
                MovementEvent(
                    g.signal_group, g.state, lo, hi, lo if exact else None, 1.0 if exact else 0.0
                )
            )
        spat = Spat(self.intersection_id, now_ns, self._revision, reading.mode, tuple(movements))
        if spat.states != self._last_key:
            self._revision = (self._revision + 1) % 128
            spat = dataclasses.replace(spat, revision=self._revision)
        return spat


@dataclass
class LiveSpat:
    """Reads ``adapters`` ``poll_hz`` times a second and publishes their SPaT to ``feed``.

    Each controller's program is read at start and again every ``program_refresh_s``; one that
    cannot be read (an unreachable controller) leaves that intersection's SPaT untimed until a
    later read succeeds."""

    adapters: Sequence[ControllerAdapter]
    feed: SpatFeed
    clock: Clock
    poll_hz: float = 50.0
    refresh_hz: float = 10.0
    program_refresh_s: float = 60.0
    events_per_group: int = 2  # the states each group's SPaT lists (``SpatConfig``)
    # The MAP of each intersection that has one (its ingress lanes give the demand).
    maps: Mapping[str, IntersectionMap] = field(default_factory=dict)
    # The RSU's latest published frame (None before the first): whose road users are demand.
    frame: Callable[[], PerceptionFrame | None] = lambda: None
    sources: dict[str, SpatSource] = field(default_factory=dict)
    # With a supervisor config: a ``SafetySupervisor`` for each intersection with a MAP whose
    # adapter is a ``ControllerWriter`` and whose program has stages, stepped after every read
    # (its decision applied on the adapter); ``on_supervisor`` is told of each one built (the
    # cloud link's ``SignalPlanBook.add``).
    supervisor_config: SupervisorConfig | None = None
    on_supervisor: Callable[[SafetySupervisor], None] = lambda s: None
    supervisors: dict[str, SafetySupervisor] = field(default_factory=dict)
    _next_program_ns: int | None = None
    _news: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        for adapter in self.adapters:
            self.sources[adapter.intersection_id] = SpatSource(
                adapter.intersection_id,
                refresh_ns=_ns(1.0 / self.refresh_hz),
                events_per_group=self.events_per_group,
            )

    async def start(self) -> None:
        started: list[ControllerAdapter] = []
        try:
            for adapter in self.adapters:
                await adapter.start()
                started.append(adapter)
                adapter.on_reading(self._news.set)
        except BaseException:
            for adapter in reversed(started):
                await adapter.stop()
            raise

    async def stop(self) -> None:
        for adapter in reversed(self.adapters):
            adapter.on_reading(None)
            await adapter.stop()

    async def _load_program(self, adapter: ControllerAdapter) -> None:
        source = self.sources[adapter.intersection_id]
        try:
            program = await adapter.program()
            source.use_program(signal_program(program))
            self._supervise(adapter, program)
        except (ControllerError, ProgramError, OSError, TimeoutError) as exc:
            log.warning(
                "intersection %s: the controller's program could not be read (%s); its SPaT "
                "carries the controller's own times only",
                adapter.intersection_id,
                exc,
            )
            source.use_program(None)

    def _supervise(self, adapter: ControllerAdapter, program: ControllerProgram) -> None:
        """Build (or, when the program changed, rebuild) the intersection's supervisor."""
        iid = adapter.intersection_id
        the_map = self.maps.get(iid)
        if (
            self.supervisor_config is None
            or not self.supervisor_config.enabled
            or the_map is None
            or not program.stages
            or not isinstance(adapter, ControllerWriter)
        ):
            return
        old = self.supervisors.get(iid)
        if old is not None and old.program == program:
            return
        if old is not None:
            log.warning("intersection %s: the program changed, its supervisor starts again", iid)
        self.supervisors[iid] = sup = SafetySupervisor(the_map, program, self.supervisor_config)
        self.on_supervisor(sup)

    def demand(
        self, intersection_id: str, frame: PerceptionFrame | None, now_ns: int
    ) -> dict[int, tuple[float, ...]] | None:
        """When ``frame``'s road users reach each group's detection point, as seen from
        ``now_ns`` (None: no MAP for the intersection, or no frame yet)."""
        m = self.maps.get(intersection_id)
        if m is None or frame is None:
            return None
        objects = frame.objects
        positions = np.array([(o.position.x, o.position.y) for o in objects], dtype=np.float64)
        velocities = np.array([(o.velocity.x, o.velocity.y) for o in objects], dtype=np.float64)
        age_s = (now_ns - frame.valid_at_ns) / 1e9  # the frame's users moved on since
        return {
            g: tuple(t - age_s for t in times)
            for g, times in arrivals(m, positions.reshape(-1, 2), velocities.reshape(-1, 2)).items()
        }

    async def poll(self, now_ns: int | None = None) -> int | None:
        """Read each controller once and publish what is due (the program read first when it
        is due again); ``now_ns``: the time to predict for (default the clock). The feed's
        sequence after publishing, or None when nothing was due. ``run`` calls it
        ``poll_hz`` times a second; a stepped RSU (``RoadsideDaemon.spat_at``) once a step."""
        now = self.clock() if now_ns is None else now_ns
        if self._next_program_ns is None or now >= self._next_program_ns:
            for adapter in self.adapters:
                await self._load_program(adapter)
            self._next_program_ns = now + _ns(self.program_refresh_s)
        out = []
        frame = self.frame()
        for adapter in self.adapters:
            reading = await adapter.read()
            now = self.clock() if now_ns is None else now_ns
            sup = self.supervisors.get(adapter.intersection_id)
            if sup is not None and isinstance(adapter, ControllerWriter):
                state = await adapter.stage()
                if state is not None:
                    await adapter.apply(sup.step(now, state))
                if sup.engaged(now) and reading.mode in _PROGRAMMED:
                    # The coordinator's times, not the program's: no end to promise.
                    reading = dataclasses.replace(
                        reading,
                        mode=ControlMode.COORDINATED,
                        groups=tuple(
                            dataclasses.replace(g, min_end_ns=None, max_end_ns=None)
                            for g in reading.groups
                        ),
                    )
            source = self.sources[adapter.intersection_id]
            # Demand only times a program's greens: none to compute without one.
            demand = (
                self.demand(adapter.intersection_id, frame, now)
                if source.predictor is not None
                else None
            )
            spat = source.update(reading, now, demand)
            if spat is not None:
                out.append(spat)
        if not out:
            return None
        self.feed.publish(out)
        return self.feed.sequence

    async def run(self) -> None:
        """Poll and publish until cancelled (run it supervised): every ``1 / poll_hz`` s, and
        at once when an adapter has news."""
        period = 1.0 / self.poll_hz
        while True:
            self._news.clear()
            await self.poll()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), period)
