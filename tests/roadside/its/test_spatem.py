"""SPATEM: what we encode decodes the same in pycrate and in Wireshark's own dissector (Debian's
tshark), with no malformed field, and the times keep the SPaT's bounds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadside.its.capture import BTP_PORT_SPATEM, Sender, ethernet, geonetworking_shb, write_pcap
from roadside.its.spatem import (
    TIME_MARK_UNKNOWN,
    ItsCodecError,
    decode_spatem,
    encode_spatem,
    from_time_mark,
    time_mark,
)
from vicoop.model import NS_PER_S, GeodeticOrigin
from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None,
    reason="tshark is not installed: `make test` installs Debian's tshark with apt-get when run "
    "as root; otherwise `sudo apt-get install tshark`",
)
NOW = 1_764_746_434_567_000_000  # 2025-12-03T07:20:34.567Z
S = NS_PER_S
SENDER = Sender(b"\x02\x00\x00\x00\x00\x01", GeodeticOrigin(50.94, 6.96, 50.0))


def spat_of(now: int = NOW) -> Spat:
    green = MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED
    red = MovementPhaseState.STOP_AND_REMAIN
    return Spat(
        intersection_id="junction-1",
        valid_at_ns=now,
        revision=3,
        mode=ControlMode.ACTUATED,
        movements=(
            MovementEvent(1, green, now + 5 * S, now + 25 * S, now + 12 * S, 0.8),
            MovementEvent(
                1, MovementPhaseState.PROTECTED_CLEARANCE, now + 8 * S, now + 28 * S, None
            ),
            MovementEvent(2, red, now + 9 * S, now + 31 * S, now + 16 * S, 0.5),
            MovementEvent(3, MovementPhaseState.DARK, None, None, None),
        ),
    )


def test_pycrate_round_trip_keeps_states_and_never_narrows_a_window() -> None:
    spat = spat_of()
    station, decoded = decode_spatem(encode_spatem([(spat, 77)], station_id=4242), NOW)
    assert station == 4242
    [(ref, back)] = decoded
    assert ref == 77 and back.mode is ControlMode.ACTUATED and back.revision == 3
    assert [(m.signal_group, m.state) for m in back.movements] == [
        (m.signal_group, m.state) for m in spat.movements
    ]
    for sent, got in zip(spat.movements, back.movements, strict=True):
        if sent.min_end_ns is None:
            assert got.min_end_ns is None and got.max_end_ns is None
            continue
        # A tenth of a second is the standard's resolution; the window only ever widens.
        assert sent.min_end_ns - S // 10 < got.min_end_ns <= sent.min_end_ns
        assert sent.max_end_ns is not None and got.max_end_ns is not None
        assert sent.max_end_ns <= got.max_end_ns < sent.max_end_ns + S // 10


@given(now=st.integers(0, 2**62), ahead=st.integers(-10 * S, 4000 * S))
def test_time_marks_name_the_future_within_an_hour_or_say_unknown(now: int, ahead: int) -> None:
    t = now + ahead
    down, up = time_mark(t, now), time_mark(t, now, up=True)
    if ahead >= 3600 * S - S // 10:
        assert down == up == TIME_MARK_UNKNOWN
        return
    low, high = from_time_mark(down, now), from_time_mark(up, now)
    assert low is not None and high is not None
    target = max(t, now)
    assert target - S // 10 < low <= target <= high < target + S // 10


def test_bad_values_are_refused_naming_the_field() -> None:
    with pytest.raises(ItsCodecError, match=r"IntersectionID must be 0\.\.65535"):
        encode_spatem([(spat_of(), 70000)], station_id=1)
    with pytest.raises(ItsCodecError, match="StationID"):
        encode_spatem([(spat_of(), 1)], station_id=-1)
    with pytest.raises(ItsCodecError, match="not a SPATEM"):
        decode_spatem(b"\x02\x04", NOW)


def tshark_fields(pcap: Path, *fields: str) -> list[list[str]]:
    assert TSHARK is not None
    cmd = [TSHARK, "-r", str(pcap), "-T", "fields", "-E", "separator=;", "-E", "occurrence=a"]
    for field in fields:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    return [line.split(";") for line in out.stdout.splitlines()]


@needs_tshark
def test_wireshark_decodes_our_spatem_with_the_values_we_sent(tmp_path: Path) -> None:
    spat = spat_of()
    pdu = encode_spatem([(spat, 77)], station_id=4242)
    frame = ethernet(geonetworking_shb(pdu, BTP_PORT_SPATEM, SENDER, NOW), SENDER.mac)
    pcap = tmp_path / "spatem.pcap"
    write_pcap(pcap, [(NOW, frame)])
    [row] = tshark_fields(
        pcap,
        "frame.protocols",
        "btpb.dstport",
        "its.messageID",
        "its.stationID",
        "dsrc.signalGroup",
        "dsrc.eventState",
        "dsrc.minEndTime",
        "dsrc.likelyTime",
        "_ws.malformed",
        "_ws.expert.severity",
    )
    protocols, port, message, station, groups, states, min_ends, likely, malformed, expert = row
    assert protocols == "eth:ethertype:gnw:btpb:its"
    assert (port, message, station) == ("2004", "4", "4242")
    assert malformed == "" and expert == "", f"tshark flags the frame: {row}"
    assert groups.split(",") == ["1", "2", "3"]
    assert [int(s) for s in states.split(",")] == [int(m.state) for m in spat.movements]
    assert [int(v) for v in min_ends.split(",")] == [
        time_mark(m.min_end_ns, NOW) for m in spat.movements
    ]
    assert [int(v) for v in likely.split(",")] == [
        time_mark(m.likely_end_ns, NOW) for m in spat.movements if m.likely_end_ns is not None
    ]


@needs_tshark
def test_the_malformed_check_catches_a_truncated_spatem(tmp_path: Path) -> None:
    pdu = encode_spatem([(spat_of(), 77)], station_id=4242)[:-6]
    frame = ethernet(geonetworking_shb(pdu, BTP_PORT_SPATEM, SENDER, NOW), SENDER.mac)
    write_pcap(tmp_path / "bad.pcap", [(NOW, frame)])
    [[malformed]] = tshark_fields(tmp_path / "bad.pcap", "_ws.malformed")
    assert "Malformed Packet" in malformed
