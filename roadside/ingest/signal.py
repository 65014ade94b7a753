"""Signal controller states as JSON over UDP: one datagram, one UTF-8 JSON object, the state of
one intersection's signal groups.

Sent by the site's signal controller (or a gateway in front of it, or the HIL rig from SUMO)
whenever a colour changes and at least once a second::

    {"v": 1, "intersection_id": "junction-1", "seq": 17, "t_ns": 1700000000123456789,
     "groups": [{"group_id": "ns-north", "approach": "north", "colour": "green",
                 "next_change_ns": 1700000012000000000}, ...]}

- ``v``: format version, 1.
- ``intersection_id``: one of the intersections in the RSU's ``cloud.intersections``.
- ``seq``: counter per intersection, an integer in [0, 2^63); counts up by one per datagram.
- ``t_ns``: when the controller was in this state, ns since the Unix epoch (UTC), an integer.
- ``groups``: 1 to 64 signal groups, each with
  ``group_id`` (1-64 characters of ``A-Z a-z 0-9 _ . : -``, unique in the datagram),
  ``approach`` (the arm its traffic comes from: ``north``, ``east``, ``south``, ``west``, or
  another id of the same characters), ``colour`` (``red``, ``red_amber``, ``green``, ``amber``
  or ``dark`` for off/unknown; case-insensitive) and ``next_change_ns`` (when the colour is
  expected to change, ns since the epoch; 0 or absent: not known).

Anything else -- invalid JSON or UTF-8, missing or mistyped fields, an intersection the RSU does
not watch, an unknown colour, too many groups -- is rejected with a reason.

Sequence numbers (per intersection, ``SignalSequence``): a ``seq`` 1 to ``SEQ_WINDOW`` ahead of
the last accepted one is accepted; the same one again is rejected as ``duplicate``, an older one
as ``out_of_order``, one more than ``SEQ_WINDOW`` ahead as ``seq_jump``. A rejected ``seq`` is
remembered, and when the next rejected datagram continues from it (1 to ``SEQ_WINDOW`` ahead of
it) the stream resynchronises there and that datagram is accepted: a controller that restarted
its counter, or came back after losing more than ``SEQ_WINDOW`` datagrams, costs one state. So a
single forged datagram (no authentication yet: issue 14) is either rejected (a jump) or shown
once (within the window), and in the second case the real controller's next state is rejected
and the one after it accepted: it can never lock the real controller out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from roadside.ingest.base import IngestStats, ParseError, int_field, json_object
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState

VERSION = 1
MAX_GROUPS = 64
SEQ_WINDOW = 16
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_COLOURS = {c.name.lower(): c for c in SignalColour if c is not SignalColour.UNSPECIFIED}


def encode(state: SignalState, seq: int) -> bytes:
    """One datagram in this format for ``state`` (its ``rsu_id`` is not sent)."""
    doc = {
        "v": VERSION,
        "intersection_id": state.intersection_id,
        "seq": seq,
        "t_ns": state.valid_at_ns,
        "groups": [
            {
                "group_id": g.group_id,
                "approach": g.approach,
                "colour": g.colour.name.lower(),
                "next_change_ns": g.next_change_ns,
            }
            for g in state.groups
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _id(v: Any, what: str) -> str:
    if not isinstance(v, str) or not ID_PATTERN.match(v):
        raise ParseError("bad_group", f"{what} must be 1-64 of [A-Za-z0-9_.:-]")
    return v


class JsonSignalDecoder:
    """Decodes the states of the intersections ``intersection_ids`` into ``SignalState``s of
    the RSU ``rsu_id``. Pure: raises ``ParseError`` for anything that is not a valid state."""

    def __init__(self, rsu_id: str, intersection_ids: Iterable[str]) -> None:
        self.rsu_id = rsu_id
        self.intersection_ids = frozenset(intersection_ids)

    def decode(self, data: bytes) -> tuple[SignalState, int]:
        """The state in ``data`` and its sequence number."""
        doc = json_object(data, VERSION)
        intersection = doc.get("intersection_id")
        if not isinstance(intersection, str) or intersection not in self.intersection_ids:
            raise ParseError("unknown_intersection", repr(intersection)[:70])
        seq, t_ns = int_field(doc, "seq"), int_field(doc, "t_ns")
        if not 0 <= seq < 1 << 63:
            raise ParseError("bad_field", "seq out of range")
        if not 0 < t_ns < 1 << 63:
            raise ParseError("bad_time", str(t_ns))
        items = doc.get("groups")
        if not isinstance(items, list) or not items:
            raise ParseError("bad_field", "groups must be a non-empty list")
        if len(items) > MAX_GROUPS:
            raise ParseError("too_many_groups", f"{len(items)} > {MAX_GROUPS}")
        groups = []
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, dict):
                raise ParseError("bad_group", "not an object")
            group_id = _id(item.get("group_id"), "group_id")
            if group_id in seen:
                raise ParseError("bad_group", f"group {group_id} twice")
            seen.add(group_id)
            approach = _id(item.get("approach"), "approach")
            colour = item.get("colour")
            if not isinstance(colour, str) or colour.lower() not in _COLOURS:
                raise ParseError("bad_colour", repr(colour)[:40])
            next_change = item.get("next_change_ns", 0)
            if type(next_change) is not int or not 0 <= next_change < 1 << 63:
                raise ParseError("bad_group", "next_change_ns must be an integer >= 0")
            groups.append(
                SignalGroupState(group_id, approach, _COLOURS[colour.lower()], next_change)
            )
        return SignalState(self.rsu_id, intersection, t_ns, tuple(groups)), seq


class SignalSequence:
    """The sequence rule of one intersection (see the module): ``check(seq)`` accepts ``seq``
    or raises ``ParseError('duplicate' | 'out_of_order' | 'seq_jump')``; ``resyncs`` counts
    the times it followed a source to new numbers. Pure."""

    def __init__(self, window: int = SEQ_WINDOW) -> None:
        self.window = window
        self.last: int | None = None
        self.resyncs = 0
        self._candidate: int | None = None

    def check(self, seq: int) -> None:
        last, candidate = self.last, self._candidate
        if last is None or 0 < seq - last <= self.window:
            self.last, self._candidate = seq, None
            return
        if candidate is not None and 0 < seq - candidate <= self.window:
            self.last, self._candidate = seq, None
            self.resyncs += 1
            return
        if seq == last:
            raise ParseError("duplicate", f"seq {seq} again")
        self._candidate = seq
        if seq < last:
            raise ParseError("out_of_order", f"seq {seq} after {last}")
        raise ParseError("seq_jump", f"seq {seq} is more than {self.window} ahead of {last}")


class SignalIngest:
    """The decoder with counting and a sequence check per intersection, handing accepted states
    to ``sink``: ``feed(data)`` never raises (``UdpEndpoint`` feeds it)."""

    def __init__(self, decoder: JsonSignalDecoder, sink: Callable[[SignalState], None]) -> None:
        self.decoder = decoder
        self.sink = sink
        self.stats = IngestStats()
        self.guards = {i: SignalSequence() for i in decoder.intersection_ids}

    def feed(self, data: bytes, received_ns: int | None = None) -> SignalState | None:
        """Decode ``data`` and hand the state to the sink; returns it, or None if rejected
        (``received_ns``, the receive time ``UdpEndpoint`` passes, is not used here)."""
        try:
            state, seq = self.decoder.decode(data)
            self.guards[state.intersection_id].check(seq)
        except ParseError as exc:
            self.stats.rejected[exc.reason] += 1
            return None
        self.stats.accepted += 1
        self.stats.last_accepted_ns = state.valid_at_ns
        self.sink(state)
        return state
