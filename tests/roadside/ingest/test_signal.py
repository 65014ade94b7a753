"""Signal controller states as JSON datagrams: round trip, rejections, sequence checks, random
bytes."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadside.ingest import JsonSignalDecoder, ParseError, SignalIngest
from roadside.ingest.signal import MAX_GROUPS, encode
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState

T = 1_700_000_000_000_000_001
GROUP = {"group_id": "ns-north", "approach": "north", "colour": "green", "next_change_ns": T + 9}


def doc(**changes: object) -> bytes:
    d: dict[str, object] = {
        "v": 1,
        "intersection_id": "junction-1",
        "seq": 17,
        "t_ns": T,
        "groups": [GROUP, {**GROUP, "group_id": "ew-east", "approach": "east", "colour": "red"}],
    }
    d.update(changes)
    return json.dumps(d).encode()


def decoder() -> JsonSignalDecoder:
    return JsonSignalDecoder("rsu-1", ["junction-1", "junction-2"])


def test_a_datagram_decodes_to_the_state() -> None:
    state, seq = decoder().decode(doc())
    assert seq == 17
    assert state == SignalState(
        "rsu-1",
        "junction-1",
        T,
        (
            SignalGroupState("ns-north", "north", SignalColour.GREEN, T + 9),
            SignalGroupState("ew-east", "east", SignalColour.RED, T + 9),
        ),
    )
    # Colours are case-insensitive; an unknown next change may be left out.
    amber = {"group_id": "g", "approach": "west", "colour": "Red_Amber"}
    state, _ = decoder().decode(doc(groups=[amber]))
    assert state.groups == (SignalGroupState("g", "west", SignalColour.RED_AMBER, 0),)


def group(**changes: object) -> list[dict[str, object]]:
    return [{**GROUP, **changes}]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe", "bad_json"),
        (b"{", "bad_json"),
        (b"[]", "bad_json"),
        (b"[" * 100_000, "bad_json"),
        (doc(v=2), "bad_version"),
        (doc(intersection_id="junction-9"), "unknown_intersection"),
        (doc(intersection_id=None), "unknown_intersection"),
        (doc(seq="17"), "bad_field"),
        (doc(seq=-1), "bad_field"),
        (doc(seq=1 << 63), "bad_field"),
        (doc(t_ns=1.5), "bad_field"),
        (doc(t_ns=0), "bad_time"),
        (doc(groups={}), "bad_field"),
        (doc(groups=[]), "bad_field"),
        (doc(groups=[GROUP] * (MAX_GROUPS + 1)), "too_many_groups"),
        (doc(groups=[1]), "bad_group"),
        (doc(groups=group(group_id="bad id")), "bad_group"),
        (doc(groups=group(group_id="x" * 65)), "bad_group"),
        (doc(groups=group(group_id=7)), "bad_group"),
        (doc(groups=group(approach="")), "bad_group"),
        (doc(groups=[GROUP, GROUP]), "bad_group"),
        (doc(groups=group(colour="blue")), "bad_colour"),
        (doc(groups=group(colour="unspecified")), "bad_colour"),
        (doc(groups=group(colour=3)), "bad_colour"),
        (doc(groups=group(next_change_ns=-5)), "bad_group"),
        (doc(groups=group(next_change_ns=1.0)), "bad_group"),
    ],
)
def test_rejections_name_their_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        decoder().decode(data)
    assert info.value.reason == reason


def test_the_ingest_counts_rejections_and_drops_repeated_and_older_states() -> None:
    got: list[SignalState] = []
    ingest = SignalIngest(decoder(), got.append)
    for data in (
        doc(seq=5),
        doc(seq=5),  # repeated
        doc(seq=4),  # older
        doc(seq=4, intersection_id="junction-2"),  # its own counter
        doc(v=9),
        doc(seq=6),
    ):
        ingest.feed(data)
    assert [(s.intersection_id, s.valid_at_ns) for s in got] == [
        ("junction-1", T),
        ("junction-2", T),
        ("junction-1", T),
    ]
    assert ingest.stats.accepted == 3
    assert dict(ingest.stats.rejected) == {"duplicate": 1, "out_of_order": 1, "bad_version": 1}


ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)
groups = st.lists(
    st.builds(
        SignalGroupState,
        ids,
        ids,
        st.sampled_from([c for c in SignalColour if c is not SignalColour.UNSPECIFIED]),
        st.integers(0, (1 << 63) - 1),
    ),
    min_size=1,
    max_size=MAX_GROUPS,
    unique_by=lambda g: g.group_id,
)


@given(
    st.sampled_from(["junction-1", "junction-2"]),
    st.integers(0, (1 << 63) - 1),
    st.integers(1, (1 << 63) - 1),
    groups,
)
def test_valid_states_round_trip(
    intersection: str, seq: int, t_ns: int, groups: list[SignalGroupState]
) -> None:
    state = SignalState("rsu-1", intersection, t_ns, tuple(groups))
    assert decoder().decode(encode(state, seq)) == (state, seq)


@given(st.binary(max_size=2048))
def test_no_bytes_crash_the_decoder(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        decoder().decode(data)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_no_json_crashes_the_decoder(value: object) -> None:
    for candidate in (
        value,
        {"v": 1, "intersection_id": "junction-1", "seq": 1, "t_ns": T, "groups": value},
    ):
        with contextlib.suppress(ParseError):
            decoder().decode(json.dumps(candidate).encode())
