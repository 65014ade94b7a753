"""Signal controller states as JSON datagrams: round trip, rejections, sequence checks, random
bytes."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from roadside.ingest import JsonSignalDecoder, ParseError, SignalIngest
from roadside.ingest.signal import MAX_GROUPS, SEQ_WINDOW, SignalSequence, encode
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


def _colours(got: list[SignalState]) -> list[str]:
    return [s.groups[0].colour.name.lower() for s in got]


def test_a_forged_seq_far_ahead_does_not_lock_out_the_real_controller() -> None:
    """Defect: a state 64 ahead was accepted and the controller's next 64 states rejected."""
    got: list[SignalState] = []
    ingest = SignalIngest(decoder(), got.append)
    green = [{**GROUP, "colour": "green"}]
    red = [{**GROUP, "colour": "red"}]
    ingest.feed(doc(seq=100, groups=red))
    ingest.feed(doc(seq=164, groups=green))  # forged: all green
    for seq in range(101, 104):
        ingest.feed(doc(seq=seq, groups=red))
    assert _colours(got) == ["red"] * 4
    assert dict(ingest.stats.rejected) == {"seq_jump": 1}


def test_a_forged_seq_just_ahead_shows_once_and_the_controller_comes_back() -> None:
    got: list[SignalState] = []
    ingest = SignalIngest(decoder(), got.append)
    ingest.feed(doc(seq=100, groups=[{**GROUP, "colour": "red"}]))
    ingest.feed(doc(seq=105, groups=[{**GROUP, "colour": "green"}]))  # forged, in the window
    for seq in range(101, 106):
        ingest.feed(doc(seq=seq, groups=[{**GROUP, "colour": "red"}]))
    assert _colours(got) == ["red", "green", "red", "red", "red", "red"]
    assert dict(ingest.stats.rejected) == {"out_of_order": 1}
    assert ingest.guards["junction-1"].resyncs == 1


def test_a_controller_that_restarts_its_counter_is_followed_after_one_state() -> None:
    sequence = SignalSequence()
    sequence.check(5000)
    with pytest.raises(ParseError, match="out_of_order"):
        sequence.check(0)
    sequence.check(1)
    sequence.check(2)
    assert (sequence.last, sequence.resyncs) == (2, 1)


@example(start=100, length=80, at=1, forged=0, near=64, gaps=[1] * 80)  # the defect
@example(start=100, length=20, at=1, forged=0, near=5, gaps=[1] * 80)
@given(
    start=st.integers(0, 1 << 40),
    length=st.integers(1, 80),
    at=st.integers(0, 80),
    forged=st.integers(0, (1 << 63) - 1),
    near=st.one_of(st.none(), st.integers(-3 * SEQ_WINDOW, 5 * SEQ_WINDOW)),
    gaps=st.lists(st.integers(1, SEQ_WINDOW), min_size=80, max_size=80),
)
def test_one_forged_seq_costs_at_most_one_real_state(
    start: int, length: int, at: int, forged: int, near: int | None, gaps: list[int]
) -> None:
    """Whatever one forged datagram holds and wherever it falls in a real controller's stream
    (which may lose up to SEQ_WINDOW - 1 datagrams in a row), every real state is accepted but
    at most one, and the forged one is accepted at most once."""
    real = [start + sum(gaps[:i]) for i in range(length)]
    if near is not None:  # a forgery close to where the controller is (the dangerous one)
        forged = max(0, real[min(at, length) - 1] + near if at else start + near)
    sequence = SignalSequence()
    arrivals = [(seq, True) for seq in real]
    arrivals.insert(min(at, length), (forged, False))
    accepted = []
    for seq, is_real in arrivals:
        with contextlib.suppress(ParseError):
            sequence.check(seq)
            accepted.append((seq, is_real))
    assert sum(1 for _, is_real in accepted if not is_real) <= 1
    lost = set(real) - {seq for seq, is_real in accepted if is_real}
    assert len(lost) <= 1
