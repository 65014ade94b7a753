"""NTCIP 1202 (v2/v3) actuated signal controllers over SNMP v1/v2c.

What is read (``asc`` = 1.3.6.1.4.1.1206.4.2.1, NTCIP 1202 v03):

- ``phaseStatusGroupTable`` (asc.1.4.1), one row per 8 phases (group g holds phases
  8(g-1)+1 .. 8g, bit 0 the lowest), columns Reds .2, Yellows .3, Greens .4, DontWalks .5,
  PedClears .6, Walks .7, each an INTEGER 0..255 bit mask; polled at ``poll_rate_hz``;
- ``unitControlStatus`` (asc.3.5.0: other 1, systemControl 2, systemStandby 3, backupMode 4,
  manual 5, timebase 6, interconnect 7, interconnectBackup 8) and ``unitFlashStatus``
  (asc.3.6.0: other 1, notFlash 2, automatic 3, localManual 4, faultMonitor 5, mmu 6,
  startup 7, preempt 8), polled with the status groups, for the ``ControlMode``;
- ``phaseTable`` (asc.1.2.1), per phase: phaseWalk .2 (s), phasePedestrianClear .3 (s),
  phaseMinimumGreen .4 (s), phasePassage .5 (0.1 s), phaseMaximum1 .6 (s), phaseMaximum2 .7 (s),
  phaseYellowChange .8 (0.1 s, 30..255), phaseRedClear .9 (0.1 s); read at start and every
  ``program_refresh_s``, the ``ControllerProgram``.

States (``MovementPhaseState``): a vehicle phase's red is STOP_AND_REMAIN, yellow the clearance
after its kind of green, green PROTECTED or PERMISSIVE (config); a pedestrian movement's don't
walk, ped clear, walk likewise. While the unit flashes (flash status automatic, faultMonitor,
mmu, startup, preempt: mode FAILURE_FLASH; localManual: MANUAL) a red is STOP_THEN_PROCEED and
a yellow CAUTION_CONFLICTING_TRAFFIC. A phase with none of its bits set is UNAVAILABLE: the
controller says nothing about it.

Timing: the status groups carry no times, so the adapter knows a state began between the
previous poll and the one that first saw it, and bounds its end by the program: a yellow ends
within [start + yellow change] exactly (the window widened by the poll gap), a green no sooner
than its minimum green (its end is up to the detectors: no max), a walk no sooner than
phaseWalk, a ped clear after phasePedestrianClear. A state seen from the first poll on has an
unknown start: only a yellow's end is then bounded (at most yellow change from now).

A reply is rejected, counted by reason, and logged with what was wrong, when it is a timeout
(``timeout``), an SNMP error status (``snmp_error``), an OID other than the one asked
(``wrong_oid``), a value that is not an INTEGER (``wrong_type``), a missing object
(``no_such_object``), a value outside the object's range (``out_of_range``), or bits that
contradict each other (``contradicting_bits``: a phase both green and red, green while flashing).
A rejected reply changes nothing; after ``stale_after_s`` without a valid one every group is
UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pyasn1.type import univ

from roadside.controllers.base import (
    AdapterStats,
    ControllerError,
    ControllerProgram,
    GroupTiming,
    S,
    StalePolicy,
)
from roadside.controllers.config import Ntcip1202ControllerConfig, NtcipPhaseMap
from vicoop.spat import ControllerReading, ControlMode, GroupReading, MovementPhaseState

log = logging.getLogger(__name__)

Oid = tuple[int, ...]
ASC: Oid = (1, 3, 6, 1, 4, 1, 1206, 4, 2, 1)
PHASE_ENTRY: Oid = (*ASC, 1, 2, 1)
STATUS_ENTRY: Oid = (*ASC, 1, 4, 1)
PHASE_CONTROL_ENTRY: Oid = (*ASC, 1, 5, 1)
# phaseControlGroupTable columns the write side sets (bit masks of 8 phases, as the status).
CONTROL_COLUMNS = {2: "phaseControlGroupPhaseOmit", 4: "phaseControlGroupHold"}
CONTROL_COLUMNS |= {5: "phaseControlGroupForceOff"}
UNIT_CONTROL_STATUS: Oid = (*ASC, 3, 5, 0)
UNIT_FLASH_STATUS: Oid = (*ASC, 3, 6, 0)

STATUS_COLUMNS = {
    2: "phaseStatusGroupReds",
    3: "phaseStatusGroupYellows",
    4: "phaseStatusGroupGreens",
    5: "phaseStatusGroupDontWalks",
    6: "phaseStatusGroupPedClears",
    7: "phaseStatusGroupWalks",
}
# column: (name, lowest, highest, seconds per unit)
PHASE_COLUMNS = {
    2: ("phaseWalk", 0, 255, 1.0),
    3: ("phasePedestrianClear", 0, 255, 1.0),
    4: ("phaseMinimumGreen", 0, 255, 1.0),
    5: ("phasePassage", 0, 255, 0.1),
    6: ("phaseMaximum1", 0, 255, 1.0),
    7: ("phaseMaximum2", 0, 255, 1.0),
    8: ("phaseYellowChange", 30, 255, 0.1),
    9: ("phaseRedClear", 0, 255, 0.1),
}
FLASHING = {3: ControlMode.FAILURE_FLASH, 4: ControlMode.MANUAL, 5: ControlMode.FAILURE_FLASH}
FLASHING |= {6: ControlMode.FAILURE_FLASH, 7: ControlMode.FAILURE_FLASH}
FLASHING |= {8: ControlMode.FAILURE_FLASH}
_INTEGER_TAGS = univ.Integer.tagSet
_PROGRAM_BATCH = 24  # varbinds per GET of the phase table, well under a 484-octet v1 PDU


def status_group_of(phase: int) -> int:
    """The phase status group (row) that holds ``phase``'s bits."""
    return (phase - 1) // 8 + 1


def _name(oid: Oid) -> str:
    if oid == UNIT_CONTROL_STATUS:
        return "unitControlStatus.0"
    if oid == UNIT_FLASH_STATUS:
        return "unitFlashStatus.0"
    if oid[:-2] == STATUS_ENTRY and oid[-2] in STATUS_COLUMNS:
        return f"{STATUS_COLUMNS[oid[-2]]}.{oid[-1]}"
    if oid[:-2] == PHASE_CONTROL_ENTRY and oid[-2] in CONTROL_COLUMNS:
        return f"{CONTROL_COLUMNS[oid[-2]]}.{oid[-1]}"
    if oid[:-2] == PHASE_ENTRY and oid[-2] in PHASE_COLUMNS:
        return f"{PHASE_COLUMNS[oid[-2]][0]}.{oid[-1]}"
    return ".".join(map(str, oid))


def integer_values(
    asked: Sequence[Oid], varbinds: Sequence[tuple[Any, Any]], ranges: dict[Oid, tuple[int, int]]
) -> dict[Oid, int]:
    """The INTEGER value of every OID ``asked``, from a reply's ``varbinds`` (pyasn1 objects),
    each checked against its (lowest, highest) in ``ranges``; raises ``ControllerError``."""
    if len(varbinds) != len(asked):
        raise ControllerError("wrong_oid", f"{len(varbinds)} values for {len(asked)} objects")
    values: dict[Oid, int] = {}
    for oid, (got_oid, value) in zip(asked, varbinds, strict=True):
        try:
            got = tuple(int(x) for x in got_oid)
        except (TypeError, ValueError):
            raise ControllerError("wrong_oid", f"{got_oid!r} is not an OID") from None
        if got != oid:
            raise ControllerError("wrong_oid", f"asked {_name(oid)}, got {_name(got)}")
        type_name = type(value).__name__
        if type_name in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
            raise ControllerError("no_such_object", f"{_name(oid)}: {type_name}")
        if getattr(value, "tagSet", None) != _INTEGER_TAGS:
            raise ControllerError("wrong_type", f"{_name(oid)} is {type_name}, not INTEGER")
        v = int(value)
        lo, hi = ranges[oid]
        if not lo <= v <= hi:
            raise ControllerError("out_of_range", f"{_name(oid)} = {v} not in {lo}..{hi}")
        values[oid] = v
    return values


@dataclass(frozen=True, slots=True)
class StatusGroup:
    """One row of ``phaseStatusGroupTable``: bit masks of its 8 phases."""

    number: int
    reds: int
    yellows: int
    greens: int
    dont_walks: int = 0
    ped_clears: int = 0
    walks: int = 0


# An indication of one movement: "stop", "clear" (yellow / ped clear), "go", or None (no bit).
Indication = str | None


def indication(group: StatusGroup, phase: int, movement: str) -> Indication:
    """What ``phase``'s vehicle or pedestrian bits in ``group`` say; raises
    ``ControllerError('contradicting_bits')`` when more than one is set."""
    bit = 1 << ((phase - 1) % 8)
    if movement == "vehicle":
        masks = (("stop", group.reds), ("clear", group.yellows), ("go", group.greens))
        names = ("red", "yellow", "green")
    else:
        masks = (("stop", group.dont_walks), ("clear", group.ped_clears), ("go", group.walks))
        names = ("don't walk", "ped clear", "walk")
    on = [(ind, name) for (ind, mask), name in zip(masks, names, strict=True) if mask & bit]
    if len(on) > 1:
        both = " and ".join(name for _, name in on)
        raise ControllerError("contradicting_bits", f"phase {phase} is both {both}")
    return on[0][0] if on else None


def movement_state(ind: Indication, green: str, flashing: bool) -> MovementPhaseState:
    """The J2735 state of an indication (see the module)."""
    if ind is None:
        return MovementPhaseState.UNAVAILABLE
    if flashing:
        if ind == "go":
            raise ControllerError("contradicting_bits", "a green while the unit flashes")
        if ind == "stop":
            return MovementPhaseState.STOP_THEN_PROCEED
        return MovementPhaseState.CAUTION_CONFLICTING_TRAFFIC
    protected = green == "protected"
    if ind == "stop":
        return MovementPhaseState.STOP_AND_REMAIN
    if ind == "clear":
        return (
            MovementPhaseState.PROTECTED_CLEARANCE
            if protected
            else MovementPhaseState.PERMISSIVE_CLEARANCE
        )
    return (
        MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED
        if protected
        else MovementPhaseState.PERMISSIVE_MOVEMENT_ALLOWED
    )


def control_mode(control_status: int, flash_status: int, local_mode: str) -> ControlMode:
    """The intersection's mode from unitControlStatus and unitFlashStatus."""
    if flash_status in FLASHING:
        return FLASHING[flash_status]
    if control_status == 5:
        return ControlMode.MANUAL
    if control_status in (2, 7):
        return ControlMode.COORDINATED
    return ControlMode.FIXED_TIME if local_mode == "fixed_time" else ControlMode.ACTUATED


@dataclass(frozen=True, slots=True)
class PhaseTiming:
    """One phase's ``phaseTable`` row, seconds."""

    phase: int
    walk_s: float
    pedestrian_clear_s: float
    minimum_green_s: float
    passage_s: float
    maximum1_s: float
    maximum2_s: float
    yellow_change_s: float
    red_clear_s: float


def phase_oids(phases: Iterable[int]) -> list[Oid]:
    """The ``phaseTable`` OIDs of ``phases`` (every column ``PhaseTiming`` holds)."""
    return [(*PHASE_ENTRY, column, p) for p in phases for column in PHASE_COLUMNS]


def phase_ranges(oids: Iterable[Oid]) -> dict[Oid, tuple[int, int]]:
    return {oid: PHASE_COLUMNS[oid[-2]][1:3] for oid in oids}


def decode_timing(phases: Iterable[int], values: dict[Oid, int]) -> dict[int, PhaseTiming]:
    """``PhaseTiming`` per phase from checked ``phaseTable`` values."""
    out = {}
    for p in phases:
        s = {c: values[(*PHASE_ENTRY, c, p)] * PHASE_COLUMNS[c][3] for c in PHASE_COLUMNS}
        out[p] = PhaseTiming(p, s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9])
    return out


class Ntcip1202Decoder:
    """Turns one poll's checked values into a ``ControllerReading``, tracking when each group's
    state began (between the previous valid poll and this one). Pure: time is passed in."""

    def __init__(
        self,
        intersection_id: str,
        phases: Sequence[NtcipPhaseMap],
        local_mode: str = "actuated",
    ) -> None:
        self.intersection_id = intersection_id
        self.phases = tuple(phases)
        self.local_mode = local_mode
        self.groups = sorted({status_group_of(p.phase) for p in self.phases})
        self.timing: dict[int, PhaseTiming] = {}
        self._prev_ns: int | None = None
        # signal group -> (state, earliest start, latest start); starts None: before first poll
        self._since: dict[int, tuple[MovementPhaseState, int | None, int]] = {}

    def oids(self) -> list[Oid]:
        """What one poll asks for: the status group rows, then the unit's status."""
        rows = [(*STATUS_ENTRY, c, g) for g in self.groups for c in STATUS_COLUMNS]
        return [*rows, UNIT_CONTROL_STATUS, UNIT_FLASH_STATUS]

    def ranges(self) -> dict[Oid, tuple[int, int]]:
        r = {oid: (0, 255) for oid in self.oids()}
        r[UNIT_CONTROL_STATUS] = r[UNIT_FLASH_STATUS] = (1, 8)
        return r

    def decode(self, values: dict[Oid, int], now_ns: int) -> ControllerReading:
        """The reading of a poll answered at ``now_ns``; raises ``ControllerError`` (and then
        remembers nothing of this poll)."""
        rows = {
            g: StatusGroup(g, *(values[(*STATUS_ENTRY, c, g)] for c in STATUS_COLUMNS))
            for g in self.groups
        }
        mode = control_mode(values[UNIT_CONTROL_STATUS], values[UNIT_FLASH_STATUS], self.local_mode)
        flashing = values[UNIT_FLASH_STATUS] in FLASHING
        states = [
            (
                m,
                movement_state(
                    indication(rows[status_group_of(m.phase)], m.phase, m.movement),
                    m.green,
                    flashing,
                ),
            )
            for m in self.phases
        ]
        groups = tuple(self._group(m, state, now_ns) for m, state in states)
        self._prev_ns = now_ns
        return ControllerReading(self.intersection_id, now_ns, mode, groups)

    def _group(self, m: NtcipPhaseMap, state: MovementPhaseState, now_ns: int) -> GroupReading:
        known = self._since.get(m.signal_group)
        if known is not None and known[0] == state:
            _, earliest, latest = known
        elif known is None:  # first poll: started some time before now
            earliest, latest = None, now_ns
        else:
            earliest, latest = self._prev_ns, now_ns
        self._since[m.signal_group] = (state, earliest, latest)
        since = latest if earliest is not None else None
        lo_s, hi_s = self._duration(m, state)
        min_end = max_end = None
        if lo_s is not None and earliest is not None:
            min_end = max(now_ns, earliest + round(lo_s * S))
        if hi_s is not None:
            max_end = latest + round(hi_s * S)
            if min_end is None:
                min_end = now_ns
        return GroupReading(m.signal_group, state, since, min_end, max_end)

    def _duration(
        self, m: NtcipPhaseMap, state: MovementPhaseState
    ) -> tuple[float | None, float | None]:
        """The shortest and longest the state lasts by the program (None: not bounded)."""
        t = self.timing.get(m.phase)
        if t is None:
            return None, None
        vehicle = m.movement == "vehicle"
        if state in (
            MovementPhaseState.PROTECTED_CLEARANCE,
            MovementPhaseState.PERMISSIVE_CLEARANCE,
        ):
            d = t.yellow_change_s if vehicle else t.pedestrian_clear_s
            return d, d
        if state.may_proceed:
            return (t.minimum_green_s if vehicle else t.walk_s), None
        return None, None

    def program(self) -> ControllerProgram:
        """The timing read from the controller as a ``ControllerProgram``."""
        groups = []
        for m in self.phases:
            t = self.timing.get(m.phase)
            if t is None:
                groups.append(GroupTiming(m.signal_group))
            elif m.movement == "vehicle":
                groups.append(
                    GroupTiming(
                        m.signal_group,
                        t.minimum_green_s,
                        t.maximum1_s,
                        t.yellow_change_s,
                        t.red_clear_s,
                    )
                )
            else:
                groups.append(GroupTiming(m.signal_group, t.walk_s, None, t.pedestrian_clear_s))
        mode = ControlMode.FIXED_TIME if self.local_mode == "fixed_time" else ControlMode.ACTUATED
        return ControllerProgram(self.intersection_id, mode, tuple(groups))


@dataclass(frozen=True, slots=True)
class PhaseControl:
    """What the write side asks of an NTCIP controller's own sequencing, by NTCIP phase
    number: ``hold`` (do not end these greens), ``force_off`` (end these greens as the
    controller's own minimums allow), ``omit`` (do not serve these phases). The controller
    keeps its own minimum greens, clearances and conflict monitor; the supervisor bounds how
    long a hold or an omit lasts."""

    hold: frozenset[int] = frozenset()
    force_off: frozenset[int] = frozenset()
    omit: frozenset[int] = frozenset()


def phase_control_values(control: PhaseControl, phases: Iterable[int]) -> dict[Oid, int]:
    """The phaseControlGroupTable values (OID -> bit mask) that set ``control`` on every
    group of 8 phases holding one of ``phases`` (bits of phases not in ``control`` cleared);
    ``ValueError`` for a phase outside 1..255."""
    wanted = set(phases) | control.hold | control.force_off | control.omit
    for p in wanted:
        if not 1 <= p <= 255:
            raise ValueError(f"phase {p} is not an NTCIP phase (1..255)")
    values: dict[Oid, int] = {}
    for group in sorted({status_group_of(p) for p in wanted}):
        for column, chosen in ((2, control.omit), (4, control.hold), (5, control.force_off)):
            mask = sum(
                1 << (p - 8 * (group - 1) - 1) for p in chosen if status_group_of(p) == group
            )
            values[(*PHASE_CONTROL_ENTRY, column, group)] = mask
    return values


class Ntcip1202Adapter:
    """Polls an NTCIP 1202 controller (see the module); ``start`` begins the poll loop."""

    name = "ntcip1202"

    def __init__(
        self, config: Ntcip1202ControllerConfig, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.config = config
        self.clock = clock
        self.intersection_id = config.intersection_id
        self.stale_after_s = config.stale_after_s
        self.stats = AdapterStats()
        self.decoder = Ntcip1202Decoder(config.intersection_id, config.phases, config.local_mode)
        self.policy = StalePolicy(config.stale_after_s)
        self.signal_groups = tuple(m.signal_group for m in config.phases)
        self.last: ControllerReading | None = None
        self._on_reading: Callable[[], None] | None = None
        self.polls = 0
        self._program_at_ns: int | None = None
        self._dispatcher: Any = None
        self._target: Any = None
        self._task: asyncio.Task[None] | None = None
        self._source = f"{config.intersection_id} ({config.host}:{config.port})"
        self.control = PhaseControl()  # the last phase control the controller took

    async def _connect(self) -> None:
        if self._dispatcher is not None:
            return
        from pysnmp.hlapi.v1arch.asyncio import SnmpDispatcher, UdpTransportTarget

        self._dispatcher = SnmpDispatcher()
        self._target = await UdpTransportTarget.create(
            (self.config.host, self.config.port),
            timeout=self.config.timeout_s,
            retries=self.config.retries,
        )

    async def _get(self, oids: Sequence[Oid], ranges: dict[Oid, tuple[int, int]]) -> dict[Oid, int]:
        """One GET of ``oids``, checked; raises ``ControllerError``."""
        from pysnmp.hlapi.v1arch.asyncio import CommunityData, get_cmd
        from pysnmp.proto import errind

        await self._connect()
        auth = CommunityData(self.config.community, mpModel=0 if self.config.version == "v1" else 1)
        binds = [(".".join(map(str, o)), univ.Null("")) for o in oids]
        try:
            error, status, index, varbinds = await get_cmd(
                self._dispatcher, auth, self._target, *binds
            )
        except Exception as exc:  # pysnmp raises its own errors for replies it cannot decode
            raise ControllerError("snmp_error", f"{type(exc).__name__}: {exc}") from None
        if isinstance(error, errind.RequestTimedOut):
            raise ControllerError("timeout", f"no reply within {self.config.timeout_s} s")
        if error:
            raise ControllerError("snmp_error", str(error))
        if int(status):
            at = int(index)
            what = _name(oids[at - 1]) if 0 < at <= len(oids) else "the request"
            raise ControllerError("snmp_error", f"{status.prettyPrint()} at {what}")
        return integer_values(oids, varbinds, ranges)

    async def set_phase_control(self, control: PhaseControl) -> bool:
        """The write side: one SET of the phase control groups of the configured phases
        (``phase_control_values``; each write also restarts the controller's backup timer, so
        a controller whose RSU stops writing returns to its own program by itself, NTCIP
        1202's unitBackupTime). True when the controller took it; a failure is counted by
        reason (``timeout``, ``snmp_error``, ``wrong_oid``...) and logged, never raised."""
        from pysnmp.hlapi.v1arch.asyncio import CommunityData, set_cmd
        from pysnmp.proto import errind

        try:
            values = phase_control_values(control, (m.phase for m in self.config.phases))
        except ValueError as exc:
            self.stats.reject("bad_control", str(exc), self._source)
            return False
        await self._connect()
        auth = CommunityData(self.config.community, mpModel=0 if self.config.version == "v1" else 1)
        oids = list(values)
        binds = [(".".join(map(str, o)), univ.Integer(values[o])) for o in oids]
        try:
            error, status, index, varbinds = await set_cmd(
                self._dispatcher, auth, self._target, *binds
            )
            if isinstance(error, errind.RequestTimedOut):
                raise ControllerError("timeout", f"no reply within {self.config.timeout_s} s")
            if error:
                raise ControllerError("snmp_error", str(error))
            if int(status):
                at = int(index)
                what = _name(oids[at - 1]) if 0 < at <= len(oids) else "the request"
                raise ControllerError("snmp_error", f"SET {status.prettyPrint()} at {what}")
            echoed = integer_values(oids, varbinds, {o: (0, 255) for o in oids})
            if echoed != values:
                raise ControllerError("snmp_error", f"SET answered {echoed}, not {values}")
        except ControllerError as exc:
            self.stats.reject(exc.reason, exc.detail, self._source)
            return False
        except Exception as exc:  # pysnmp's own errors for replies it cannot decode
            self.stats.reject("snmp_error", f"{type(exc).__name__}: {exc}", self._source)
            return False
        self.control = control
        return True

    async def read_program(self) -> ControllerProgram | None:
        """Read the phase table now; None (counted) if the controller's reply was bad."""
        phases = sorted({m.phase for m in self.config.phases})
        oids = phase_oids(phases)
        values: dict[Oid, int] = {}
        self._program_at_ns = self.clock()
        try:
            for i in range(0, len(oids), _PROGRAM_BATCH):
                batch = oids[i : i + _PROGRAM_BATCH]
                values |= await self._get(batch, phase_ranges(batch))
        except ControllerError as exc:
            self.stats.reject(exc.reason, exc.detail, self._source)
            return None
        self.decoder.timing = decode_timing(phases, values)
        return self.decoder.program()

    async def poll(self) -> ControllerReading | None:
        """One poll of the status; the reading, or None if rejected (counted, logged)."""
        self.polls += 1
        refresh = self._program_at_ns is None or (
            self.clock() - self._program_at_ns > self.config.program_refresh_s * S
        )
        if refresh:
            await self.read_program()
        try:
            values = await self._get(self.decoder.oids(), self.decoder.ranges())
            reading = self.decoder.decode(values, self.clock())
        except ControllerError as exc:
            self.stats.reject(exc.reason, exc.detail, self._source)
            return None
        self.last = reading
        self.stats.accepted += 1
        self.stats.last_good_ns = reading.read_at_ns
        if self._on_reading is not None:
            self._on_reading()
        return reading

    def on_reading(self, callback: Callable[[], None] | None) -> None:
        """``callback`` is called after each poll the controller answered."""
        self._on_reading = callback

    async def _run(self) -> None:
        period = 1.0 / self.config.poll_rate_hz
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.poll()
            except Exception:  # a bug here must not end the loop (and the SPaT with it)
                self.stats.rejected["internal_error"] += 1
                log.exception("controller %s: polling failed", self._source)
            await asyncio.sleep(max(0.0, period - (loop.time() - started)))

    async def start(self) -> None:
        await self._connect()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"ntcip1202 {self._source}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._dispatcher is not None:
            self._dispatcher.transport_dispatcher.close_dispatcher()
            self._dispatcher = None

    async def read(self) -> ControllerReading:
        """The newest valid reading, or all UNAVAILABLE once it is ``stale_after_s`` old."""
        return self.policy.apply(
            self.last,
            self.stats.last_good_ns,
            self.clock(),
            self.intersection_id,
            self.signal_groups,
        )

    async def program(self) -> ControllerProgram:
        """The phase timing (read now if it never was); groups with unknown timing if the
        controller has not answered it."""
        if not self.decoder.timing:
            await self.read_program()
        return self.decoder.program()
