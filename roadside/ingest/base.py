"""The ingest stage's interface: sensor bytes in, timestamped sensor cycles out.

Decoders are pure (bytes and, where the wire carries no time, a receive time in): they return a
cycle or raise ``ParseError`` with a short reason; the ``Ingest`` wrapper counts every rejection
by reason and drops duplicated and out-of-order cycles, so no input can crash the daemon. Async
adapters (UDP sockets, CAN buses) sit on top and hand accepted cycles to a sink.

Time acceptance: given the RSU's own clock at receive time, a ``TimeWindow`` rejects a cycle
measured more than ``max_future_ns`` after it (reason ``future``) or more than ``max_age_ns``
before it (reason ``stale``), so no sensor's clock, forged or skewed, can move the tracker's time.

Frames and units: radar ranges in m (slant), azimuths in rad counter-clockwise from the radar's
boresight, radial speeds in m/s (positive away from the radar), RCS in dBsm; camera boxes in
pixels of the distorted image ``(u0, v0, u1, v1)`` (u right, v down); times in ns since the
Unix epoch, the time the sensor *took* the measurement.
"""

from __future__ import annotations

import abc
import collections
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from roadside.errors import RoadsideError

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ParseError(RoadsideError):
    """Input that is not a valid cycle; ``reason`` is a short key used for counting."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


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


# Rejection reasons of a measurement time outside the RSU's acceptance window.
TIME_REASONS = ("future", "stale")
# Datagrams refused by an input's source allowlist or HMAC check (roadside.ingest.trust).
TRUST_REASONS = ("source_not_allowed", "missing_hmac", "bad_hmac")


@dataclass
class IngestStats:
    """What one input received: accepted cycles and rejections counted by reason."""

    accepted: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    # The newest accepted cycle's measurement time (the sensor's clock) and the RSU's clock
    # when it was received (None where no receive time was passed in).
    last_accepted_ns: int | None = None
    last_received_ns: int | None = None
    # The RSU's clock when a cycle was last rejected for its time (``future`` or ``stale``).
    last_time_rejected_ns: int | None = None

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def reject(self, exc: ParseError, received_ns: int | None) -> None:
        """Count a rejection by its reason; a time rejection is logged (once per run of them,
        not once per datagram) and its receive time kept; a datagram the input does not trust
        (``roadside.ingest.trust``) is logged the first time and every 1000th."""
        self.rejected[exc.reason] += 1
        if exc.reason in TRUST_REASONS:
            n = self.rejected[exc.reason]
            if n == 1 or n % 1000 == 0:
                log.warning("rejected an untrusted datagram: %s (%d so far)", exc, n)
        if exc.reason in TIME_REASONS:
            if self.last_time_rejected_ns is None or (
                self.last_received_ns is not None
                and self.last_time_rejected_ns <= self.last_received_ns
            ):
                log.warning("rejected: %s", exc)
            self.last_time_rejected_ns = received_ns


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


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The measurement times accepted against the RSU's clock at receive time (ns)."""

    max_future_ns: int
    max_age_ns: int

    def check(self, sensor_id: str, measured_at_ns: int, received_ns: int) -> None:
        """Raise ``ParseError('future' | 'stale')``, naming the sensor, its time and the RSU's,
        unless ``measured_at_ns`` lies in the window around ``received_ns``."""
        lead = measured_at_ns - received_ns
        if lead > self.max_future_ns or -lead > self.max_age_ns:
            reason = "future" if lead > 0 else "stale"
            raise ParseError(
                reason,
                f"sensor {sensor_id} measured at {measured_at_ns} ns, {lead / 1e9:+.3f} s from "
                f"the RSU's clock {received_ns} ns (window -{self.max_age_ns / 1e9:g} s "
                f"to +{self.max_future_ns / 1e9:g} s)",
            )


class Decoder(abc.ABC, Generic[C]):
    """Turns one datagram into one cycle, or raises ``ParseError``."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> C:
        """The cycle in ``data``."""


class Ingest(Generic[C]):
    """A decoder with counting, time and sequence checks and a sink: ``feed(data, received_ns)``
    never raises (but for the sink's own errors).

    With a ``window``, a cycle's time is checked against ``received_ns`` (the RSU's clock when
    the datagram came in) before its counter, so a rejected cycle moves neither the tracker's
    time nor the sequence guard.
    """

    def __init__(
        self,
        decoder: Decoder[C],
        sink: Callable[[C], None],
        counter_modulus: int = 1 << 32,
        window: TimeWindow | None = None,
    ) -> None:
        self.decoder: Decoder[C] = decoder
        self.sink: Callable[[C], None] = sink
        self.stats = IngestStats()
        self.guard = SequenceGuard(counter_modulus)
        self.window = window

    def feed(self, data: bytes, received_ns: int | None = None) -> C | None:
        """Decode ``data`` and hand the cycle to the sink; returns it, or None if rejected."""
        try:
            cycle: C = self.decoder.decode(data)
            if self.window is not None and received_ns is not None:
                self.window.check(cycle.sensor_id, cycle.measured_at_ns, received_ns)
            self.guard.check(cycle.cycle if isinstance(cycle, RadarCycle) else cycle.frame)
        except ParseError as exc:
            self.stats.reject(exc, received_ns)
            return None
        self.stats.accepted += 1
        self.stats.last_accepted_ns = cycle.measured_at_ns
        self.stats.last_received_ns = received_ns
        self.sink(cycle)
        return cycle
