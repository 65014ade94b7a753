"""ETSI SPATEM (ISO TS 19091 / SAE J2735 SPAT, UPER) from and to vicoop's ``Spat``.

Times: J2735 gives the message's time as the minute of the year (``moy``) and the millisecond in
that minute (``timeStamp``), and each state's end as a ``TimeMark``, tenths of a second from the
start of the current UTC hour (0..35999; 36001 unknown), so a mark lower than the message's own
falls in the next hour. ``confidence`` is J2735's ``TimeIntervalConfidence``, an index into a table
of probabilities; we send the highest index whose probability does not exceed ours.

pycrate (``pycrate_asn1dir.ITS_IS``) does the encoding; this module maps the fields.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any

from pycrate_asn1dir import ITS_IS

from vicoop.errors import VicoopError
from vicoop.model import NS_PER_S
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

PROTOCOL_VERSION = 2  # ETSI TS 103 301 v1.2.1+: SPATEM/MAPEM protocol version 2
MESSAGE_ID_SPATEM = 4
TIME_MARK_UNKNOWN = 36001
_HOUR_NS = 3600 * NS_PER_S
_MARK_NS = NS_PER_S // 10
# J2735 TimeIntervalConfidence: the probability each index stands for.
CONFIDENCE_TABLE = (
    0.21, 0.36, 0.47, 0.56, 0.62, 0.68, 0.73, 0.77, 0.81, 0.85, 0.88, 0.91, 0.94, 0.96, 0.98, 1.0
)  # fmt: skip
_STATE_NAMES = {
    MovementPhaseState.UNAVAILABLE: "unavailable",
    MovementPhaseState.DARK: "dark",
    MovementPhaseState.STOP_THEN_PROCEED: "stop-Then-Proceed",
    MovementPhaseState.STOP_AND_REMAIN: "stop-And-Remain",
    MovementPhaseState.PRE_MOVEMENT: "pre-Movement",
    MovementPhaseState.PERMISSIVE_MOVEMENT_ALLOWED: "permissive-Movement-Allowed",
    MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED: "protected-Movement-Allowed",
    MovementPhaseState.PERMISSIVE_CLEARANCE: "permissive-clearance",
    MovementPhaseState.PROTECTED_CLEARANCE: "protected-clearance",
    MovementPhaseState.CAUTION_CONFLICTING_TRAFFIC: "caution-Conflicting-Traffic",
}
_STATES = {name: state for state, name in _STATE_NAMES.items()}
# IntersectionStatusObject bits (J2735): which ones each control mode sets.
_STATUS_BITS = {
    ControlMode.UNKNOWN: (),
    ControlMode.FIXED_TIME: (5,),  # fixedTimeOperation
    ControlMode.ACTUATED: (6,),  # trafficDependentOperation
    ControlMode.COORDINATED: (6,),
    ControlMode.MANUAL: (0,),  # manualControlIsEnabled
    ControlMode.FAILURE_FLASH: (2,),  # failureFlash
    ControlMode.DARK: (9,),  # off
}
_STATUS_LEN = 16


class ItsCodecError(VicoopError, ValueError):
    """An ITS message that cannot be encoded or decoded, saying which field and why."""


def _hour_start_ns(t_ns: int) -> int:
    return t_ns - t_ns % _HOUR_NS


def time_mark(t_ns: int | None, now_ns: int, *, up: bool = False) -> int:
    """J2735 TimeMark of ``t_ns`` seen at ``now_ns``: tenths of a second in now's hour (or the
    next one), rounded down, or ``up`` (a latest end is never announced earlier than it is, an
    earliest end never later). A time already past is now; one an hour or more ahead, which a
    TimeMark cannot name, is unknown (36001): never a wrong bound."""
    if t_ns is None:
        return TIME_MARK_UNKNOWN
    t = max(t_ns, now_ns)
    if t - now_ns >= _HOUR_NS - _MARK_NS:
        return TIME_MARK_UNKNOWN
    offset = t - _hour_start_ns(now_ns)
    ticks = -(-offset // _MARK_NS) if up else offset // _MARK_NS
    return int(ticks % 36000)


def from_time_mark(mark: int, now_ns: int) -> int | None:
    """``t_ns`` of a TimeMark read at ``now_ns``: in ``now_ns``'s hour, or the next one when the
    mark is before now (a TimeMark only ever names the future or the present)."""
    if mark == TIME_MARK_UNKNOWN:
        return None
    if not 0 <= mark <= 36000:
        raise ItsCodecError(f"TimeMark must be 0..36000 or 36001 (unknown), got {mark}")
    start = _hour_start_ns(now_ns)
    t = start + mark * _MARK_NS
    if t + _MARK_NS <= now_ns:
        t += _HOUR_NS
    return t


def confidence_index(probability: float) -> int:
    """The highest TimeIntervalConfidence index whose probability is at most ``probability``."""
    return max(0, bisect.bisect_right(CONFIDENCE_TABLE, probability + 1e-12) - 1)


def _moy_and_ms(t_ns: int) -> tuple[int, int]:
    t = dt.datetime.fromtimestamp(t_ns / NS_PER_S, tz=dt.UTC)
    year_start = dt.datetime(t.year, 1, 1, tzinfo=dt.UTC)
    minute = int((t - year_start).total_seconds() // 60)
    ms = (t_ns // 1_000_000) % 60_000
    return minute, ms


def _from_moy(moy: int, ms: int, now_ns: int) -> int:
    now = dt.datetime.fromtimestamp(now_ns / NS_PER_S, tz=dt.UTC)
    year_start = dt.datetime(now.year, 1, 1, tzinfo=dt.UTC)
    return int(year_start.timestamp()) * NS_PER_S + (moy * 60_000 + ms) * 1_000_000


def spat_value(spat: Spat, intersection_ref: int) -> dict[str, Any]:
    """The J2735 IntersectionState of ``spat`` (pycrate value), at reference id
    ``intersection_ref`` (J2735 IntersectionID, 0..65535)."""
    if not 0 <= intersection_ref <= 65535:
        raise ItsCodecError(f"IntersectionID must be 0..65535, got {intersection_ref}")
    status = 0
    for bit in _STATUS_BITS[spat.mode]:
        status |= 1 << (_STATUS_LEN - 1 - bit)
    moy, ms = _moy_and_ms(spat.valid_at_ns)
    by_group: dict[int, list[MovementEvent]] = {}
    for event in spat.movements:
        by_group.setdefault(event.signal_group, []).append(event)
    states = []
    for group, events in sorted(by_group.items()):
        if not 1 <= group <= 255:
            raise ItsCodecError(f"SignalGroupID must be 1..255, got {group}")
        sequence = []
        for event in events:
            timing: dict[str, int] = {"minEndTime": time_mark(event.min_end_ns, spat.valid_at_ns)}
            if event.max_end_ns is not None:
                timing["maxEndTime"] = time_mark(event.max_end_ns, spat.valid_at_ns, up=True)
            likely = time_mark(event.likely_end_ns, spat.valid_at_ns)
            if likely != TIME_MARK_UNKNOWN:
                timing["likelyTime"] = likely
                timing["confidence"] = confidence_index(event.confidence)
            sequence.append({"eventState": _STATE_NAMES[event.state], "timing": timing})
        states.append({"signalGroup": group, "state-time-speed": sequence})
    return {
        "id": {"id": intersection_ref},
        "revision": spat.revision % 128,
        "status": (status, _STATUS_LEN),
        "moy": moy,
        "timeStamp": ms,
        "states": states,
    }


def encode_spatem(spats: list[tuple[Spat, int]], station_id: int) -> bytes:
    """One SPATEM (UPER) for ``(spat, intersection_ref)`` pairs, sent by ``station_id``."""
    if not 0 <= station_id <= 0xFFFFFFFF:
        raise ItsCodecError(f"StationID must be 0..4294967295, got {station_id}")
    if not 1 <= len(spats) <= 32:
        raise ItsCodecError(f"a SPAT holds 1..32 intersections, got {len(spats)}")
    pdu = ITS_IS.SPATEM_PDU_Descriptions.SPATEM
    value = {
        "header": {
            "protocolVersion": PROTOCOL_VERSION,
            "messageID": MESSAGE_ID_SPATEM,
            "stationID": station_id,
        },
        "spat": {"intersections": [spat_value(s, ref) for s, ref in spats]},
    }
    try:
        pdu.set_val(value)
        return bytes(pdu.to_uper())
    except Exception as exc:  # pycrate raises its own error types, one per failing constraint
        raise ItsCodecError(f"SPATEM cannot be encoded: {exc}") from None


_MODES = {bits: mode for mode, bits in _STATUS_BITS.items() if mode is not ControlMode.COORDINATED}


def decode_spatem(data: bytes, now_ns: int) -> tuple[int, list[tuple[int, Spat]]]:
    """``(station_id, [(intersection_ref, spat)])`` from a SPATEM read at ``now_ns``; the Spat's
    ``intersection_id`` is the reference id as text."""
    pdu = ITS_IS.SPATEM_PDU_Descriptions.SPATEM
    try:
        pdu.from_uper(data)
    except Exception as exc:
        raise ItsCodecError(f"not a SPATEM: {exc}") from None
    value = pdu.get_val()
    header = value["header"]
    if header["messageID"] != MESSAGE_ID_SPATEM:
        raise ItsCodecError(f"header.messageID is {header['messageID']}, not SPATEM (4)")
    out = []
    for inter in value["spat"]["intersections"]:
        valid_at = _from_moy(inter.get("moy", 0), inter.get("timeStamp", 0), now_ns)
        bits_value, length = inter["status"]
        bits = tuple(b for b in range(length) if bits_value >> (length - 1 - b) & 1)
        movements = []
        for state in inter["states"]:
            for event in state["state-time-speed"]:
                timing = event.get("timing", {})
                likely = timing.get("likelyTime")
                conf = timing.get("confidence")
                movements.append(
                    MovementEvent(
                        signal_group=state["signalGroup"],
                        state=_STATES[event["eventState"]],
                        min_end_ns=from_time_mark(
                            timing.get("minEndTime", TIME_MARK_UNKNOWN), valid_at
                        ),
                        max_end_ns=from_time_mark(
                            timing.get("maxEndTime", TIME_MARK_UNKNOWN), valid_at
                        ),
                        likely_end_ns=None if likely is None else from_time_mark(likely, valid_at),
                        confidence=0.0 if conf is None else CONFIDENCE_TABLE[conf],
                    )
                )
        ref = inter["id"]["id"]
        spat = Spat(
            intersection_id=str(ref),
            valid_at_ns=valid_at,
            revision=inter["revision"],
            mode=_MODES.get(bits, ControlMode.UNKNOWN),
            movements=tuple(movements),
        )
        out.append((ref, spat))
    return header["stationID"], out
