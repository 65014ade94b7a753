"""Continental ARS 408-21 object list over CAN (python-can), as in the sensor's DBC.

A cycle is one ``Obj_0_Status`` (0x60A) announcing the object count and measurement counter,
then one ``Obj_1_General`` (0x60B) per object, and, when the radar is configured to send them,
one ``Obj_3_Extended`` (0x60D) per object. A radar with sensor id n sends every id + 0x10 * n.
Signals (Motorola byte order; bit fields below counted from the most significant bit):

- 0x60A: Obj_NofObjects = byte 0; Obj_MeasCounter = bytes 1-2 (uint16);
  Obj_InterfaceVersion = byte 3 >> 4.
- 0x60B: Obj_ID = byte 0; Obj_DistLong = 13 bits from byte 1 (x 0.2 - 500 m);
  Obj_DistLat = 11 bits (x 0.2 - 204.6 m, positive left); Obj_VrelLong = 10 bits
  (x 0.25 - 128 m/s); Obj_VrelLat = 9 bits (x 0.25 - 64 m/s); Obj_DynProp = 3 bits;
  Obj_RCS = byte 7 (x 0.5 - 64 dBsm).
- 0x60D: Obj_ID = byte 0; Obj_ArelLong 11 bits, Obj_ArelLat 9 bits, Obj_Class = byte 3 & 7
  (0 point, 1 car, 2 truck, 3 pedestrian, 4 motorcycle, 5 bicycle, 6 wide, 7 reserved);
  Obj_OrientationAngle 10 bits; Obj_Length = byte 6 x 0.2 m; Obj_Width = byte 7 x 0.2 m.

The cartesian (longitudinal, lateral) position becomes range and azimuth (counter-clockwise from
boresight), the relative velocity its radial component, so a cycle looks like any other radar's.
The CAN frame carries no time: the 0x60A frame's receive timestamp (python-can's
``Message.timestamp``, seconds since the epoch) is taken as the measurement time.

A cycle that is incomplete when the next 0x60A arrives, frames of the wrong length, unknown
object ids and repeated or older measurement counters are counted and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from roadside.ingest.base import IngestStats, ParseError, RadarCycle, SequenceGuard, TimeWindow
from vicoop.errors import StartupError
from vicoop.model import NS_PER_S, ObjectClass

log = logging.getLogger(__name__)

STATUS_ID = 0x60A
GENERAL_ID = 0x60B
EXTENDED_ID = 0x60D
ARS_CLASSES = {
    0: ObjectClass.UNKNOWN,
    1: ObjectClass.CAR,
    2: ObjectClass.TRUCK,
    3: ObjectClass.PEDESTRIAN,
    4: ObjectClass.MOTORCYCLE,
    5: ObjectClass.BICYCLE,
    6: ObjectClass.UNKNOWN,
    7: ObjectClass.UNSPECIFIED,
}


def encode_status(count: int, counter: int, interface_version: int = 0) -> bytes:
    return bytes(
        [
            count & 0xFF,
            (counter >> 8) & 0xFF,
            counter & 0xFF,
            (interface_version & 0xF) << 4,
            0,
            0,
            0,
            0,
        ]
    )


def encode_general(
    obj_id: int,
    dist_long_m: float,
    dist_lat_m: float,
    vrel_long_mps: float,
    vrel_lat_mps: float,
    rcs_dbsm: float = 0.0,
    dyn_prop: int = 0,
) -> bytes:
    """One 0x60B payload (values rounded to the signal resolution and clamped to its range)."""

    def raw(value: float, res: float, offset: float, bits: int) -> int:
        return max(0, min((1 << bits) - 1, round((value - offset) / res)))

    dl = raw(dist_long_m, 0.2, -500.0, 13)
    dt = raw(dist_lat_m, 0.2, -204.6, 11)
    vl = raw(vrel_long_mps, 0.25, -128.0, 10)
    vt = raw(vrel_lat_mps, 0.25, -64.0, 9)
    rcs = raw(rcs_dbsm, 0.5, -64.0, 8)
    return bytes(
        [
            obj_id & 0xFF,
            dl >> 5,
            ((dl & 0x1F) << 3) | (dt >> 8),
            dt & 0xFF,
            vl >> 2,
            ((vl & 0x3) << 6) | (vt >> 3),
            ((vt & 0x7) << 5) | (dyn_prop & 0x7),
            rcs,
        ]
    )


def encode_extended(
    obj_id: int, ars_class: int, length_m: float = 0.0, width_m: float = 0.0
) -> bytes:
    """One 0x60D payload (accelerations and orientation left at zero)."""
    return bytes(
        [
            obj_id & 0xFF,
            0,
            0,
            ars_class & 0x7,
            0,
            0,
            max(0, min(255, round(length_m / 0.2))),
            max(0, min(255, round(width_m / 0.2))),
        ]
    )


@dataclass
class _Pending:
    counter: int
    t_ns: int
    count: int
    received_ns: int | None = None
    general: dict[int, tuple[float, float, float, float, float]] = field(default_factory=dict)
    extended: dict[int, tuple[int, float, float]] = field(default_factory=dict)


class Ars408Decoder:
    """Assembles ARS408 CAN frames into radar cycles (pure: frames and their times in).

    ``extended`` says whether the radar sends 0x60D; a cycle is emitted once all its frames are
    in. ``stats`` counts emitted cycles and rejections by reason.
    """

    def __init__(
        self,
        sensor_id: str,
        can_sensor_id: int = 0,
        extended: bool = False,
        window: TimeWindow | None = None,
    ) -> None:
        self.sensor_id = sensor_id
        self.window = window
        self.extended = extended
        base = 0x10 * can_sensor_id
        self.ids = (STATUS_ID + base, GENERAL_ID + base, EXTENDED_ID + base)
        self.stats = IngestStats()
        self.guard = SequenceGuard(1 << 16)
        self._pending: _Pending | None = None

    def feed(
        self,
        arbitration_id: int,
        data: bytes,
        timestamp_s: float,
        received_ns: int | None = None,
    ) -> RadarCycle | None:
        """Take one CAN frame; returns a cycle when this frame completes one. Never raises.

        With a ``window`` and the RSU's clock ``received_ns``, a cycle whose time lies outside
        the window is rejected at its status frame."""
        try:
            return self._feed(arbitration_id, bytes(data), timestamp_s, received_ns)
        except ParseError as exc:
            self.stats.reject(exc, received_ns)
            return None

    def _feed(
        self, arbitration_id: int, data: bytes, timestamp_s: float, received_ns: int | None
    ) -> RadarCycle | None:
        status, general, extended = self.ids
        if arbitration_id not in self.ids:
            return None
        if len(data) != 8:
            raise ParseError("bad_length", f"0x{arbitration_id:X} with {len(data)} bytes")
        if arbitration_id == status:
            if self._pending is not None:
                self._pending = None
                self.stats.rejected["incomplete_cycle"] += 1
            if not math.isfinite(timestamp_s) or timestamp_s <= 0:
                raise ParseError("bad_time")
            counter = (data[1] << 8) | data[2]
            whole = math.floor(timestamp_s)
            t_ns = whole * NS_PER_S + round((timestamp_s - whole) * NS_PER_S)
            if self.window is not None and received_ns is not None:
                self.window.check(self.sensor_id, t_ns, received_ns)
            self.guard.check(counter)
            self._pending = _Pending(counter, t_ns, data[0], received_ns)
            return self._complete()
        pending = self._pending
        if pending is None:
            raise ParseError("no_status", f"0x{arbitration_id:X} outside a cycle")
        if arbitration_id == general:
            dl = (data[1] << 5) | (data[2] >> 3)
            dt = ((data[2] & 0x7) << 8) | data[3]
            vl = (data[4] << 2) | (data[5] >> 6)
            vt = ((data[5] & 0x3F) << 3) | (data[6] >> 5)
            if data[0] in pending.general:
                raise ParseError("duplicate_object", str(data[0]))
            pending.general[data[0]] = (
                dl * 0.2 - 500.0,
                dt * 0.2 - 204.6,
                vl * 0.25 - 128.0,
                vt * 0.25 - 64.0,
                data[7] * 0.5 - 64.0,
            )
        elif arbitration_id == extended:
            pending.extended[data[0]] = (data[3] & 0x7, data[6] * 0.2, data[7] * 0.2)
        if len(pending.general) > pending.count:
            self._pending = None
            raise ParseError("too_many_objects")
        return self._complete()

    def _complete(self) -> RadarCycle | None:
        p = self._pending
        if p is None or len(p.general) < p.count:
            return None
        if self.extended and len(p.extended) < p.count:
            return None
        self._pending = None
        ids = sorted(p.general)
        if self.extended and set(p.extended) != set(ids):
            raise ParseError("unknown_object")
        g = np.array([p.general[i] for i in ids], dtype=np.float64).reshape(-1, 5)
        x, y, vx, vy, rcs = g.T
        rng = np.hypot(x, y)
        az = np.arctan2(y, x)
        vr = np.where(rng > 0, (vx * x + vy * y) / np.maximum(rng, 1e-9), 0.0)
        classes = np.zeros(len(ids), dtype=np.int64)
        lengths = widths = None
        if self.extended:
            ext = [p.extended[i] for i in ids]
            classes = np.array([int(ARS_CLASSES[e[0]]) for e in ext], dtype=np.int64)
            lengths = np.array([e[1] if e[1] > 0 else np.nan for e in ext])
            widths = np.array([e[2] if e[2] > 0 else np.nan for e in ext])
        self.stats.accepted += 1
        self.stats.last_accepted_ns = p.t_ns
        self.stats.last_received_ns = p.received_ns
        return RadarCycle(
            self.sensor_id, p.counter, p.t_ns, rng, az, vr, rcs, classes, lengths, widths
        )


class Ars408Reader:
    """Reads an ARS408 from a python-can bus and hands each cycle to ``sink``.

    ``bus_kwargs`` go to ``can.Bus`` (e.g. ``interface="socketcan", channel="can0"``, or
    ``interface="virtual"`` in tests).
    """

    def __init__(
        self,
        decoder: Ars408Decoder,
        sink: Any,
        clock: Callable[[], int] = time.time_ns,
        **bus_kwargs: Any,
    ) -> None:
        self.decoder = decoder
        self.sink = sink
        self.clock = clock
        self.bus_kwargs = bus_kwargs
        self._bus: Any = None
        self._notifier: Any = None

    @property
    def stats(self) -> IngestStats:
        return self.decoder.stats

    def on_message(self, msg: Any) -> None:
        if msg.is_error_frame or msg.is_remote_frame:
            self.decoder.stats.rejected["error_frame"] += 1
            return
        cycle = self.decoder.feed(msg.arbitration_id, msg.data, msg.timestamp, self.clock())
        if cycle is not None:
            try:
                self.sink(cycle)
            except Exception:
                self.decoder.stats.rejected["sink_error"] += 1
                log.exception("handling a radar cycle failed")

    async def start(self) -> None:
        import can

        try:
            self._bus = can.Bus(**self.bus_kwargs)
        except (OSError, can.CanError, ValueError) as exc:
            bus = " ".join(str(self.bus_kwargs.get(k, "")) for k in ("interface", "channel"))
            raise StartupError(f"cannot open CAN bus {bus.strip()}: {exc}") from None
        self._notifier = can.Notifier(self._bus, [self.on_message], loop=asyncio.get_running_loop())

    async def stop(self) -> None:
        if self._notifier is not None:
            self._notifier.stop()
            self._notifier = None
        if self._bus is not None:
            self._bus.shutdown()
            self._bus = None
