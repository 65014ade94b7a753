"""SPaT between the kernel's types (``vicoop.spat``) and the ``vicoop.v1`` contract
(``spat.proto``). Decoding validates every field and raises ``CodecError`` naming the first one
that is wrong: a receiver never acts on a window that is not a window."""

from __future__ import annotations

import math

from protos.vicoop.v1 import spat_pb2
from vicoop.errors import CodecError
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

MAX_INTERSECTION_ID = 64  # characters
MAX_MOVEMENTS = 255 * 16  # J2735: 255 movement states of at most 16 events each
_STATES = {int(s): s for s in MovementPhaseState}
_MODES = {int(m): m for m in ControlMode}


def movement_to_proto(event: MovementEvent) -> spat_pb2.MovementEvent:
    pb = spat_pb2.MovementEvent(
        signal_group=event.signal_group,
        state=int(event.state),  # type: ignore[arg-type]
        confidence=event.confidence,
    )
    if event.min_end_ns is not None:
        pb.min_end_ns = event.min_end_ns
    if event.max_end_ns is not None:
        pb.max_end_ns = event.max_end_ns
    if event.likely_end_ns is not None:
        pb.likely_end_ns = event.likely_end_ns
    return pb


def spat_to_proto(spat: Spat) -> spat_pb2.IntersectionSpat:
    return spat_pb2.IntersectionSpat(
        intersection_id=spat.intersection_id,
        valid_at_ns=spat.valid_at_ns,
        revision=spat.revision,
        mode=int(spat.mode),  # type: ignore[arg-type]
        movements=[movement_to_proto(m) for m in spat.movements],
    )


def _time(pb: spat_pb2.MovementEvent, field: str, name: str) -> int | None:
    if not pb.HasField(field):
        return None
    value = int(getattr(pb, field))
    if value < 0:
        raise CodecError(f"{name}.{field} must be ns since the Unix epoch (>= 0), got {value}")
    return value


def movement_from_proto(pb: spat_pb2.MovementEvent, name: str = "movement") -> MovementEvent:
    if not 1 <= pb.signal_group <= 255:
        raise CodecError(f"{name}.signal_group must be 1..255, got {pb.signal_group}")
    state = _STATES.get(pb.state)
    if state is None:
        raise CodecError(f"{name}.state: unknown MovementPhaseState value {pb.state}")
    min_end = _time(pb, "min_end_ns", name)
    max_end = _time(pb, "max_end_ns", name)
    likely = _time(pb, "likely_end_ns", name)
    if min_end is not None and max_end is not None and min_end > max_end:
        raise CodecError(f"{name}: min_end_ns {min_end} is after max_end_ns {max_end}")
    if likely is not None and (
        (min_end is not None and likely < min_end) or (max_end is not None and likely > max_end)
    ):
        raise CodecError(f"{name}.likely_end_ns {likely} is outside [min_end_ns, max_end_ns]")
    if not (math.isfinite(pb.confidence) and 0.0 <= pb.confidence <= 1.0):
        raise CodecError(f"{name}.confidence must be in [0, 1], got {pb.confidence}")
    return MovementEvent(pb.signal_group, state, min_end, max_end, likely, float(pb.confidence))


def spat_from_proto(pb: spat_pb2.IntersectionSpat, name: str = "spat") -> Spat:
    if not 1 <= len(pb.intersection_id) <= MAX_INTERSECTION_ID:
        raise CodecError(
            f"{name}.intersection_id must be 1..{MAX_INTERSECTION_ID} characters, "
            f"got {len(pb.intersection_id)}"
        )
    mode = _MODES.get(pb.mode)
    if mode is None:
        raise CodecError(f"{name}.mode: unknown ControlMode value {pb.mode}")
    if pb.valid_at_ns < 0:
        raise CodecError(f"{name}.valid_at_ns must be >= 0, got {pb.valid_at_ns}")
    if len(pb.movements) > MAX_MOVEMENTS:
        raise CodecError(f"{name}.movements: at most {MAX_MOVEMENTS}, got {len(pb.movements)}")
    movements = tuple(
        movement_from_proto(m, f"{name}.movements[{i}]") for i, m in enumerate(pb.movements)
    )
    return Spat(pb.intersection_id, pb.valid_at_ns, pb.revision, mode, movements)
