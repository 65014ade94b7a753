"""The ingest stage's interface: sensor bytes in, timestamped sensor cycles out.

Decoders are pure (bytes and, where the wire carries no time, a receive time in): they return a
cycle or raise ``ParseError`` with a short reason; the ``Ingest`` wrapper counts every rejection
by reason and drops duplicated and out-of-order cycles, so no input can crash the daemon. Async
adapters (UDP sockets, CAN buses) sit on top and hand accepted cycles to a sink.

Frames and units: radar ranges in m (slant), azimuths in rad counter-clockwise from the radar's
boresight, radial speeds in m/s (positive away from the radar), RCS in dBsm; camera boxes in
pixels of the distorted image ``(u0, v0, u1, v1)`` (u right, v down); times in ns since the
Unix epoch, the time the sensor *took* the measurement.
"""

from __future__ import annotations

import abc
import collections
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from roadside.errors import RoadsideError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ParseError(RoadsideError):
    """Input that is not a valid cycle; ``reason`` is a short key used for counting."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def json_object(data: bytes, version: int) -> dict[str, Any]:
    """A JSON datagram's object, checked for UTF-8, JSON, an object and its ``"v": version``."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ParseError("bad_json") from None
    if not isinstance(doc, dict):
        raise ParseError("bad_json", "not an object")
    if doc.get("v") != version:
        raise ParseError("bad_version", repr(doc.get("v"))[:20])
    return doc


def int_field(doc: dict[str, Any], key: str) -> int:
    """``doc[key]``, which must be an integer (not a bool, float or string)."""
    v = doc.get(key)
    if type(v) is not int:
        raise ParseError("bad_field", f"{key} must be an integer")
    return v


@dataclass(frozen=True, eq=False)
class RadarCycle:
    """One radar cycle's object list (K objects, arrays of shape (K,)).

    ``classes`` holds ``ObjectClass`` values, 0 where the radar does not classify;
    ``lengths_m``/``widths_m`` are NaN where it does not measure them.
    """

    sensor_id: str
    cycle: int
    measured_at_ns: int
    ranges_m: FloatArray
    azimuths_rad: FloatArray
    radial_speeds_mps: FloatArray
    rcs_dbsm: FloatArray
    classes: IntArray
    lengths_m: FloatArray | None = None
    widths_m: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.ranges_m.shape[0])


@dataclass(frozen=True, eq=False)
class CameraFrame:
    """One camera frame's detections: ``boxes`` (K, 4) px, ``classes`` (K,) ``ObjectClass``
    values, ``scores`` (K,) in [0, 1]."""

    sensor_id: str
    frame: int
    measured_at_ns: int
    boxes: FloatArray
    classes: IntArray
    scores: FloatArray

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


Cycle = RadarCycle | CameraFrame
C = TypeVar("C", RadarCycle, CameraFrame)
Sink = Callable[[C], None]


@dataclass
class IngestStats:
    """What one input received: accepted cycles and rejections counted by reason."""

    accepted: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    last_accepted_ns: int | None = None

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class SequenceGuard:
    """Drops repeated and older cycle counters, with wrap-around (serial number arithmetic).

    A counter up to ``reorder_window`` behind the last accepted one is out of order; one further
    behind is taken as a sensor restart and accepted.
    """

    def __init__(self, modulus: int, reorder_window: int = 64) -> None:
        self.modulus = modulus
        self.reorder_window = reorder_window
        self.last: int | None = None

    def check(self, counter: int) -> None:
        """Raise ``ParseError('duplicate' | 'out_of_order')`` or accept ``counter``."""
        if self.last is not None:
            delta = (counter - self.last) % self.modulus
            if delta == 0:
                raise ParseError("duplicate", f"cycle {counter} again")
            if self.modulus - delta <= self.reorder_window:
                raise ParseError("out_of_order", f"cycle {counter} after {self.last}")
        self.last = counter


class Decoder(abc.ABC, Generic[C]):
    """Turns one datagram into one cycle, or raises ``ParseError``."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> C:
        """The cycle in ``data``."""


class Ingest(Generic[C]):
    """A decoder with counting, sequence checks and a sink: ``feed(data)`` never raises."""

    def __init__(
        self, decoder: Decoder[C], sink: Callable[[C], None], counter_modulus: int = 1 << 32
    ) -> None:
        self.decoder: Decoder[C] = decoder
        self.sink: Callable[[C], None] = sink
        self.stats = IngestStats()
        self.guard = SequenceGuard(counter_modulus)

    def feed(self, data: bytes) -> C | None:
        """Decode ``data`` and hand the cycle to the sink; returns it, or None if rejected."""
        try:
            cycle: C = self.decoder.decode(data)
            self.guard.check(cycle.cycle if isinstance(cycle, RadarCycle) else cycle.frame)
        except ParseError as exc:
            self.stats.rejected[exc.reason] += 1
            return None
        self.stats.accepted += 1
        self.stats.last_accepted_ns = cycle.measured_at_ns
        self.sink(cycle)
        return cycle
